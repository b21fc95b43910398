package ablylocal

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// TestCloseDetachesBeforeClosed checks that once a client has read CLOSED,
// the connection is gone from its channels: no attachment is counted and
// its presence member has left (ably-js checks status right after close).
func TestCloseDetachesBeforeClosed(t *testing.T) {
	formats(t, func(t *testing.T, binary bool) {
		s := startServer(t, Options{})
		for i := 0; i < 30; i++ {
			name := uniq(t, fmt.Sprintf("close%d", i))
			r := dialRaw(t, s, binary, url.Values{"clientId": {"alice"}})
			r.expect(actConnected)
			r.send(map[string]any{"action": actAttach, "channel": name})
			r.expect(actAttached)
			r.send(map[string]any{"action": actPresence, "channel": name, "msgSerial": 0,
				"presence": []map[string]any{{"action": 2, "data": "here"}}})
			readUntil(r, actAck)
			r.send(map[string]any{"action": actClose})
			readUntil(r, actClosed)
			d := s.details(name, s.lookupChannel(name))
			if m := d.Status.Occupancy.Metrics; m.Connections != 0 || m.PresenceMembers != 0 {
				t.Fatalf("iteration %d: after CLOSED the channel still has %d connections and %d presence members", i, m.Connections, m.PresenceMembers)
			}
		}
	})
}

// readUntil reads frames until one with the given action, skipping others.
func readUntil(r *rawClient, action int) map[string]any {
	r.t.Helper()
	for {
		m, ok := r.recv()
		if !ok {
			r.t.Fatalf("connection ended while waiting for action %d", action)
		}
		if num(m["action"]) == int64(action) {
			return m
		}
	}
}

// TestConcurrentCloseWaitsForDisconnected checks that a Close running while
// another is still disconnecting clients (ctx cancellation in Start plus the
// caller's own Close, as in `ably serve` on SIGTERM) returns only after the
// first has finished; otherwise the process could exit before clients got
// DISCONNECTED and SDKs would see an unclean socket close instead.
func TestConcurrentCloseWaitsForDisconnected(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	entered := make(chan struct{})
	release := make(chan struct{})
	s.mu.Lock()
	s.onConnClosed = func(*conn, *errorInfo) {
		close(entered)
		<-release
	}
	s.mu.Unlock()
	r := dialRaw(t, s, false, nil)
	r.expect(actConnected)
	cancel() // Start's goroutine runs the first Close
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the first Close did not close the connection")
	}
	second := make(chan error, 1)
	go func() { second <- s.Close() }()
	select {
	case <-second:
		close(release)
		t.Fatal("a second Close returned while the first was still disconnecting clients")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the second Close did not return after the first finished")
	}
	if m := r.expect(actDisconnected); errOf(m) != 80003 {
		t.Fatalf("DISCONNECTED %v, want error 80003", m)
	}
}
