package model

import "github.com/livesync-dev/livesync-dev/connector/mongo"

// MongoSource is implemented by a Source that runs the MongoDB connector;
// the overview then shows its stream state. (Optional, so sources without
// MongoDB need nothing.)
type MongoSource interface {
	// MongoState returns the Mongo connector's state; false when none runs.
	MongoState() (mongo.State, bool)
}
