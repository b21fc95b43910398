package source

import (
	"context"
	"errors"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

var (
	_ model.MongoSource   = (*Source)(nil)
	_ model.MongoInserter = (*Source)(nil)
)

// MongoInsert implements model.MongoInserter with Options.MongoDocs.
func (s *Source) MongoInsert(ctx context.Context, doc string, count int) ([]string, error) {
	if s.opts.MongoDocs == nil {
		return nil, errors.New("no MongoDB in this sandbox")
	}
	return s.opts.MongoDocs.DocumentInsert(ctx, mongo.DocumentInsertParams{JSON: doc, Count: count})
}

// MongoState implements model.MongoSource with Options.Mongo.
func (s *Source) MongoState() (mongo.State, bool) {
	if s.opts.Mongo == nil {
		return mongo.State{}, false
	}
	return s.opts.Mongo.State(), true
}
