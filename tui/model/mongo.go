package model

import "context"

// MongoInserter is implemented by a Source that can write test documents
// into the watched MongoDB collection (the insert form offers it when the
// Mongo connector runs). The Mongo connector's state itself reaches the
// dashboard in the snapshot (Snapshot.Connectors, Kind "mongo"), like the
// outbox nodes'.
type MongoInserter interface {
	// MongoAvailable reports whether documents can be written (a Mongo
	// connector runs in this process).
	MongoAvailable() bool
	// MongoInsert inserts count copies of doc (a JSON object, relaxed
	// Extended JSON) and returns their _ids.
	MongoInsert(ctx context.Context, doc string, count int) ([]string, error)
}
