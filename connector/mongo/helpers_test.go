package mongo

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// The fakes below stand in for the MongoDB server, which cannot run on
// these machines: oplog is an ordered event history with resume semantics
// (resume after a token, history lost when the token is gone), memTokens
// the "ably" collection. Events are real BSON change events.

// token builds a resume token like a server's: {_data: "82" + cluster
// time (seconds 1700000000+n, increment 1) + the rest}.
func token(n int) bson.Raw {
	raw, _ := bson.Marshal(bson.D{{Key: "_data", Value: fmt.Sprintf("82%08X000000012B042C0100296E5A1004%032X04", 1700000000+n, n)}})
	return raw
}

// changeEvent builds an insert change event n (post-pipeline) with extra
// root fields (routing fields go here).
func changeEvent(t testing.TB, n int, root ...bson.E) bson.Raw {
	t.Helper()
	oid := bson.NewObjectIDFromTimestamp(time.Unix(1700000000, 0))
	d := bson.D{
		{Key: "_id", Value: token(n)},
		{Key: "operationType", Value: "insert"},
		{Key: "clusterTime", Value: bson.Timestamp{T: uint32(1700000000 + n), I: 1}},
		{Key: "ns", Value: bson.D{{Key: "db", Value: "app"}, {Key: "coll", Value: "orders"}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: oid}}},
		{Key: "fullDocument", Value: bson.D{{Key: "_id", Value: oid}, {Key: "n", Value: int32(n)}}},
	}
	d = append(d, root...)
	raw, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// routed is changeEvent with _ablyChannel set to channel.
func routed(t testing.TB, n int, channel string, more ...bson.E) bson.Raw {
	return changeEvent(t, n, append([]bson.E{{Key: FieldChannel, Value: channel}}, more...)...)
}

// oplog is an ordered history of change events that streams resume into.
type oplog struct {
	mu      sync.Mutex
	events  []bson.Raw
	more    chan struct{} // closed and replaced on append
	opens   []StreamParams
	openErr []error // returned by the next opens, in turn
}

func newOplog() *oplog { return &oplog{more: make(chan struct{})} }

func (o *oplog) add(events ...bson.Raw) {
	o.mu.Lock()
	o.events = append(o.events, events...)
	close(o.more)
	o.more = make(chan struct{})
	o.mu.Unlock()
}

func (o *oplog) opened() []StreamParams {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]StreamParams(nil), o.opens...)
}

// StreamOpen starts after ResumeAfter (ErrHistoryLost when no event has
// that token), or at the end of the history.
func (o *oplog) StreamOpen(ctx context.Context, p StreamParams) (Stream, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens = append(o.opens, p)
	if len(o.openErr) > 0 {
		err := o.openErr[0]
		o.openErr = o.openErr[1:]
		return nil, err
	}
	pos := len(o.events)
	if p.ResumeAfter != nil {
		pos = -1
		for i, e := range o.events {
			if string(eventToken(e)) == string(p.ResumeAfter) {
				pos = i + 1
			}
		}
		if pos < 0 {
			return nil, fmt.Errorf("%w: resume point may no longer be in the oplog", ErrHistoryLost)
		}
	}
	return &oplogStream{log: o, pos: pos}, nil
}

type oplogStream struct {
	log *oplog
	pos int
}

func (s *oplogStream) StreamNext(ctx context.Context) (Change, error) {
	for {
		s.log.mu.Lock()
		if s.pos < len(s.log.events) {
			e := s.log.events[s.pos]
			s.pos++
			s.log.mu.Unlock()
			return Change{Event: e, Token: eventToken(e)}, nil
		}
		more := s.log.more
		s.log.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return Change{}, ctx.Err()
		}
	}
}

func (s *oplogStream) StreamClose(context.Context) error { return nil }

// memTokens is the "ably" collection: one token per rule.
type memTokens struct {
	mu      sync.Mutex
	tokens  map[string]bson.Raw
	saves   int
	loadErr error
	saveErr error
	saved   chan struct{} // receives after every successful save (buffered)
}

func newMemTokens() *memTokens {
	return &memTokens{tokens: map[string]bson.Raw{}, saved: make(chan struct{}, 100)}
}

func (m *memTokens) TokenLoad(_ context.Context, rule string) (bson.Raw, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loadErr != nil {
		return nil, m.loadErr
	}
	return m.tokens[rule], nil
}

func (m *memTokens) TokenSave(_ context.Context, p TokenSaveParams) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saveErr != nil {
		return m.saveErr
	}
	m.tokens[p.Rule] = append(bson.Raw(nil), p.Token...)
	m.saves++
	m.saved <- struct{}{}
	return nil
}

func (m *memTokens) get(rule string) (bson.Raw, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[rule], m.saves
}

func (m *memTokens) set(f func(m *memTokens)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

// env is one test's local Ably endpoint, fake server and event bus.
type env struct {
	ably   *ablylocal.Server
	key    string
	log    *oplog
	tokens *memTokens
	bus    *connector.Bus
	ticks  chan time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv, err := ablylocal.Start(context.Background(), ablylocal.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("ablylocal: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return &env{ably: srv, key: srv.Keys()[0].String(), log: newOplog(), tokens: newMemTokens(),
		bus: &connector.Bus{}, ticks: make(chan time.Time)}
}

// options use the test's ticker: checkpoints happen only on e.tick().
func (e *env) options() Options {
	return Options{
		Database: "app", Collection: "orders",
		Pipeline: `[{"$set":{"_ablyChannel":"orders"}}]`,
		Source:   e.log, Tokens: e.tokens,
		Ably: append(ablylocal.ClientOptions(e.ably.Addr(), e.key),
			ably.WithDisconnectedRetryTimeout(100*time.Millisecond), ably.WithRealtimeRequestTimeout(2*time.Second)),
		RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Events: e.bus,
		ticker: func(time.Duration) (<-chan time.Time, func()) { return e.ticks, func() {} },
	}
}

func (e *env) start(t testing.TB, o Options) *Connector {
	t.Helper()
	c, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func (e *env) tick() { e.ticks <- time.Now() }

// sub is a real ably-go subscriber recording what each channel receives.
type sub struct {
	mu   sync.Mutex
	msgs map[string][]*ably.Message
	n    int
	more chan struct{}
}

func (e *env) subscribe(t testing.TB, channels ...string) *sub {
	t.Helper()
	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(e.ably.Addr(), e.key), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	s := &sub{msgs: map[string][]*ably.Message{}, more: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		t.Fatal(err)
	}
	for _, c := range channels {
		if _, err := rt.Channels.Get(c).SubscribeAll(ctx, func(m *ably.Message) {
			s.mu.Lock()
			s.msgs[c] = append(s.msgs[c], m)
			s.n++
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}); err != nil {
			t.Fatalf("subscribe %s: %v", c, err)
		}
	}
	return s
}

// waitCount waits until at least n messages arrived.
func (s *sub) waitCount(t testing.TB, n int) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got := s.n
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-s.more:
		case <-deadline.C:
			t.Fatalf("received %d of %d messages", got, n)
		}
	}
}

func (s *sub) on(channel string) []*ably.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*ably.Message(nil), s.msgs[channel]...)
}

// waitState polls the connector's state until ok holds (the state has no
// event of its own to wait on).
func waitState(t testing.TB, c *Connector, what string, ok func(connector.MongoState) bool) connector.MongoState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := *c.State().Mongo
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; state %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
