package source

import (
	"context"
	"errors"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

var _ model.MongoInserter = (*Source)(nil)

// MongoAvailable implements model.MongoInserter: true with Options.MongoDocs.
func (s *Source) MongoAvailable() bool { return s.opts.MongoDocs != nil }

// MongoInsert implements model.MongoInserter with Options.MongoDocs.
func (s *Source) MongoInsert(ctx context.Context, doc string, count int) ([]string, error) {
	if s.opts.MongoDocs == nil {
		return nil, errors.New("no MongoDB in this sandbox")
	}
	return s.opts.MongoDocs.DocumentInsert(ctx, mongo.DocumentInsertParams{JSON: doc, Count: count})
}
