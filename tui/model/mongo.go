package model

import (
	"context"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
)

// MongoSource is implemented by a Source that runs the MongoDB connector;
// the overview then shows its stream state. (Optional, so sources without
// MongoDB need nothing.)
type MongoSource interface {
	// MongoState returns the Mongo connector's state; false when none runs.
	MongoState() (mongo.State, bool)
}

// MongoInserter is implemented by a Source that can write test documents
// into the watched MongoDB collection (the insert form offers it when the
// Mongo connector runs).
type MongoInserter interface {
	// MongoInsert inserts count copies of doc (a JSON object, relaxed
	// Extended JSON) and returns their _ids.
	MongoInsert(ctx context.Context, doc string, count int) ([]string, error)
}
