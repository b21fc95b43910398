package view

import (
	"fmt"
	"strconv"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// mongoSegment renders the Mongo connector on the nodes line: stream
// state, events/s, resume-token age, events skipped for 72004 and the last
// error; "" when the source runs no Mongo connector.
func (o *Overview) mongoSegment() string {
	ms, ok := o.app.opts.Source.(model.MongoSource)
	if !ok {
		return ""
	}
	s, ok := ms.MongoState()
	if !ok {
		return ""
	}
	t := &o.app.env.theme
	col := t.OK
	switch s.Stream {
	case mongo.StreamStuck:
		col = t.Err
	case mongo.StreamRetrying, mongo.StreamStarting:
		col = t.Warn
	}
	seg := "Mongo " + t.paint(col, string(s.Stream)) + " " + fmtRate(&s.EventsPerSecond)
	if s.TokenStoredAt != nil {
		seg += " token " + fmtAge(s.TokenAgeSeconds)
	} else {
		seg += " token –"
	}
	if s.SkippedNoChannel > 0 {
		seg += " " + t.paint(t.Warn, "no-channel "+strconv.FormatInt(s.SkippedNoChannel, 10))
	}
	if s.TokenStoreFailing || s.Stream == mongo.StreamStuck {
		seg += " " + t.paint(t.Err, fmt.Sprintf("error %d", s.LastErrorCode))
	}
	return seg
}
