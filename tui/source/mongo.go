package source

import (
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

var _ model.MongoSource = (*Source)(nil)

// MongoState implements model.MongoSource with Options.Mongo.
func (s *Source) MongoState() (mongo.State, bool) {
	if s.opts.Mongo == nil {
		return mongo.State{}, false
	}
	return s.opts.Mongo.State(), true
}
