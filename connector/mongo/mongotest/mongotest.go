// Package mongotest is an in-memory stand-in for the MongoDB server behind
// the Mongo connector's seam (mongo.Source and mongo.TokenStore), for tests
// outside connector/mongo that drive a real mongo.Connector where no mongod
// can run: an ordered change history that streams resume into (history
// lost when the resume token is gone) and the "ably" token collection.
// Events are real BSON change events.
package mongotest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
)

// Server is the change history of one collection and its "ably" tokens.
type Server struct {
	mu      sync.Mutex
	events  []bson.Raw
	more    chan struct{} // closed and replaced on Add
	tokens  map[string]bson.Raw
	loadErr error
	saveErr error
}

var (
	_ mongo.Source     = (*Server)(nil)
	_ mongo.TokenStore = (*Server)(nil)
)

// New returns an empty server.
func New() *Server { return &Server{more: make(chan struct{}), tokens: map[string]bson.Raw{}} }

// Token is a resume token like a server's, for event n: {_data: "82" +
// cluster time (seconds 1700000000+n) + the rest}.
func Token(n int) bson.Raw {
	raw, _ := bson.Marshal(bson.D{{Key: "_data", Value: fmt.Sprintf("82%08X000000012B042C0100296E5A1004%032X04", 1700000000+n, n)}})
	return raw
}

// Event is insert change event n as the rule's pipeline leaves it: with
// _ablyChannel set to channel on its root ("" leaves it out).
func Event(n int, channel string) bson.Raw {
	oid := bson.NewObjectIDFromTimestamp(time.Unix(1700000000, 0))
	d := bson.D{
		{Key: "_id", Value: Token(n)},
		{Key: "operationType", Value: "insert"},
		{Key: "clusterTime", Value: bson.Timestamp{T: uint32(1700000000 + n), I: 1}},
		{Key: "ns", Value: bson.D{{Key: "db", Value: "app"}, {Key: "coll", Value: "orders"}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: oid}}},
		{Key: "fullDocument", Value: bson.D{{Key: "_id", Value: oid}, {Key: "n", Value: int32(n)}}},
	}
	if channel != "" {
		d = append(d, bson.E{Key: mongo.FieldChannel, Value: channel})
	}
	raw, _ := bson.Marshal(d)
	return raw
}

// Add appends change events to the history (open streams receive them).
func (s *Server) Add(events ...bson.Raw) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
	close(s.more)
	s.more = make(chan struct{})
}

// SetToken stores rule's token as if written earlier (nil deletes it: the
// advice for 72006 and 72008).
func (s *Server) SetToken(rule string, tok bson.Raw) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == nil {
		delete(s.tokens, rule)
		return
	}
	s.tokens[rule] = tok
}

// StoredToken is rule's stored token (nil: none).
func (s *Server) StoredToken(rule string) bson.Raw {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[rule]
}

// FailLoad makes TokenLoad fail with err (nil: succeed again).
func (s *Server) FailLoad(err error) { s.mu.Lock(); s.loadErr = err; s.mu.Unlock() }

// FailSave makes TokenSave fail with err (nil: succeed again).
func (s *Server) FailSave(err error) { s.mu.Lock(); s.saveErr = err; s.mu.Unlock() }

// StreamOpen implements mongo.Source: the stream starts after
// p.ResumeAfter (mongo.ErrHistoryLost when no event has that token) or at
// the end of the history.
func (s *Server) StreamOpen(_ context.Context, p mongo.StreamParams) (mongo.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos := len(s.events)
	if p.ResumeAfter != nil {
		pos = -1
		for i, e := range s.events {
			if id, ok := e.Lookup("_id").DocumentOK(); ok && string(id) == string(p.ResumeAfter) {
				pos = i + 1
			}
		}
		if pos < 0 {
			return nil, fmt.Errorf("%w: resume point may no longer be in the oplog", mongo.ErrHistoryLost)
		}
	}
	return &stream{srv: s, pos: pos}, nil
}

type stream struct {
	srv *Server
	pos int
}

// StreamNext implements mongo.Stream.
func (st *stream) StreamNext(ctx context.Context) (mongo.Change, error) {
	for {
		st.srv.mu.Lock()
		if st.pos < len(st.srv.events) {
			e := st.srv.events[st.pos]
			st.pos++
			st.srv.mu.Unlock()
			tok, _ := e.Lookup("_id").DocumentOK()
			return mongo.Change{Event: e, Token: tok}, nil
		}
		more := st.srv.more
		st.srv.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return mongo.Change{}, ctx.Err()
		}
	}
}

// StreamClose implements mongo.Stream.
func (st *stream) StreamClose(context.Context) error { return nil }

// TokenLoad implements mongo.TokenStore.
func (s *Server) TokenLoad(_ context.Context, rule string) (bson.Raw, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	return s.tokens[rule], nil
}

// TokenSave implements mongo.TokenStore.
func (s *Server) TokenSave(_ context.Context, p mongo.TokenSaveParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return s.saveErr
	}
	s.tokens[p.Rule] = append(bson.Raw(nil), p.Token...)
	return nil
}
