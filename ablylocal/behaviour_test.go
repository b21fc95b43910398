package ablylocal

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// TestIdempotentPublish: the same message ids within the dedupe window are
// stored and delivered once (MUST 15), REST and realtime; 40031 id rules.
func TestIdempotentPublish(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := startServer(t, Options{Now: clock, DedupeWindow: time.Minute})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "idem")
		rest := newREST(t, clientOpts(s, binary)...)
		msgs := []*ably.Message{{ID: "base1:0", Name: "a"}, {ID: "base1:1", Name: "b"}}
		for i := 0; i < 2; i++ {
			if err := rest.Channels.Get(name).PublishMultiple(ctxT(t), msgs); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
		rt, _ := newRealtime(t, clientOpts(s, binary)...)
		sub := subscribe(t, rt, name)
		for i := 0; i < 2; i++ {
			if err := rt.Channels.Get(name).PublishMultiple(ctxT(t), []*ably.Message{{ID: "rt-1", Name: "c"}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := rt.Channels.Get(name).Publish(ctxT(t), "end", "x"); err != nil {
			t.Fatal(err)
		}
		if m1, m2 := next(t, sub), next(t, sub); m1.Name != "c" || m2.Name != "end" {
			t.Fatalf("deliveries %q %q: duplicate delivered", m1.Name, m2.Name)
		}
		if n := len(historyItems(t, rest.Channels.Get(name).History())); n != 4 {
			t.Fatalf("history has %d messages, want 4", n)
		}
		// ably-go's automatic idempotent ids (<base>:<i>) are deduped across retries
		if err := rest.Channels.Get(name).PublishMultiple(ctxT(t), []*ably.Message{{Name: "x"}, {Name: "y"}}); err != nil {
			t.Fatal(err)
		}
		err := rest.Channels.Get(name).PublishMultiple(ctxT(t), []*ably.Message{{ID: "a:0"}, {ID: "b:1"}})
		if errCode(err) != 40031 {
			t.Fatalf("mixed id bases: %v", err)
		}
		// after the window the same id is a new message
		mu.Lock()
		now = now.Add(2 * time.Minute)
		mu.Unlock()
		if err := rest.Channels.Get(name).PublishMultiple(ctxT(t), msgs); err != nil {
			t.Fatal(err)
		}
		if n := len(historyItems(t, rest.Channels.Get(name).History())); n != 8 {
			t.Fatalf("history has %d messages after the window, want 8", n)
		}
	})
}

// TestLimitsAbly: --limits ably NACKs above 50 msg/s per connection (42911)
// and per channel (42913). The clock is frozen so the second never ends.
func TestLimitsAbly(t *testing.T) {
	frozen := time.Now()
	s := startServer(t, Options{Limits: "ably", Now: func() time.Time { return frozen }})
	formats(t, func(t *testing.T, binary bool) {
		c, _ := newRealtime(t, clientOpts(s, binary)...)
		var last error
		for i := 0; i < 51; i++ {
			last = c.Channels.Get(fmt.Sprintf("%s-%d", uniq(t, "conn-rate"), i)).Publish(ctxT(t), "n", "d")
			if i < 50 && last != nil {
				t.Fatalf("publish %d: %v", i, last)
			}
		}
		if errCode(last) != 42911 {
			t.Fatalf("51st publish on one connection: %v, want 42911", last)
		}
		name := uniq(t, "chan-rate")
		var errs []error
		for i := 0; i < 3; i++ {
			p, _ := newRealtime(t, clientOpts(s, binary)...)
			for j := 0; j < 20; j++ {
				errs = append(errs, p.Channels.Get(name).Publish(ctxT(t), "n", "d"))
			}
		}
		for i, err := range errs {
			if (i < 50) != (err == nil) || (i >= 50 && errCode(err) != 42913) {
				t.Fatalf("channel publish %d: %v", i, err)
			}
		}
		if err := newREST(t, clientOpts(s, binary)...).Channels.Get(name).Publish(ctxT(t), "n", "d"); errCode(err) != 42913 {
			t.Fatalf("REST over the channel rate: %v", err)
		}
	})
}

// TestIdleConnectionKeptAliveByHeartbeats: with a short maxIdleInterval and
// request timeout, ably-go would drop a silent connection; HEARTBEATs keep it
// CONNECTED (MUST 5).
func TestIdleConnectionKeptAliveByHeartbeats(t *testing.T) {
	s := startServer(t, Options{MaxIdleInterval: 300 * time.Millisecond})
	beats := make(chan *conn, 100)
	s.mu.Lock()
	s.onHeartbeat = func(c *conn) {
		select {
		case beats <- c:
		default:
		}
	}
	s.mu.Unlock()
	formats(t, func(t *testing.T, binary bool) {
		c, w := newRealtime(t, clientOpts(s, binary, ably.WithRealtimeRequestTimeout(200*time.Millisecond))...)
		var sc *conn
		s.mu.Lock()
		for x := range s.conns {
			if x.id == c.Connection.ID() {
				sc = x
			}
		}
		s.mu.Unlock()
		if sc == nil {
			t.Fatal("server connection not found")
		}
		// each heartbeat is an event; wait for several idle periods' worth,
		// longer than ably-go's read deadline without them (500 ms)
		for n := 0; n < 5; {
			select {
			case ch := <-w.ch:
				t.Fatalf("connection changed while idle: %v → %v (%v)", ch.Previous, ch.Current, ch.Reason)
			case b := <-beats:
				if b == sc {
					n++
				}
			case <-time.After(testTimeout):
				t.Fatal("no heartbeats")
			}
		}
		if c.Connection.State() != ably.ConnectionStateConnected || c.Connection.ID() != sc.id {
			t.Fatalf("state %v id %q", c.Connection.State(), c.Connection.ID())
		}
	})
}

// TestRewindParam: ably-go's rewind channel param replays the last messages
// and is echoed in the channel params (SHOULD).
func TestRewindParam(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "rewind")
		rest := newREST(t, clientOpts(s, binary)...)
		for i := 0; i < 3; i++ {
			if err := rest.Channels.Get(name).Publish(ctxT(t), fmt.Sprint("m", i), "x"); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := newRealtime(t, clientOpts(s, binary)...)
		ch := c.Channels.Get(name, ably.ChannelWithParams("rewind", "2"))
		got := make(chan *ably.Message, 10)
		if _, err := ch.SubscribeAll(ctxT(t), func(m *ably.Message) { got <- m }); err != nil {
			t.Fatal(err)
		}
		if m1, m2 := next(t, got), next(t, got); m1.Name != "m1" || m2.Name != "m2" {
			t.Fatalf("rewind=2 replayed %q, %q", m1.Name, m2.Name)
		}
		if ch.Params()["rewind"] != "2" {
			t.Fatalf("channel params %v", ch.Params())
		}
	})
}
