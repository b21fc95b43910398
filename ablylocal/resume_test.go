package ablylocal

import (
	"strings"
	"testing"

	"github.com/ably/ably-go/ably"
)

// findConn returns the server side of a client connection.
func findConn(t testing.TB, s *Server, id string) *conn {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.id == id {
			return c
		}
	}
	t.Fatalf("no server connection %q", id)
	return nil
}

// TestFailedResumeReattaches: a dropped transport makes ably-go resume; the
// server answers with a new connectionId plus 80008, ably-go re-attaches with
// its channelSerial and gets the message it missed exactly once (MUST 16,
// SHOULD replay).
func TestFailedResumeReattaches(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		a, w := newRealtime(t, clientOpts(s, binary)...)
		b, _ := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "resume")
		msgs := subscribe(t, a, name)
		old := a.Connection.ID()
		sc := findConn(t, s, old)
		s.mu.Lock()
		s.onConnClosed = func(c *conn, _ *errorInfo) {
			if c == sc {
				in := []inMessage{{Name: "missed"}}
				m, _ := s.prepareMessages(in, "", false, "", "srv")
				_, _, _ = s.publish(name, m, nil, "")
			}
		}
		s.mu.Unlock()
		_ = sc.ws.CloseNow()
		w.waitFor(t, ably.ConnectionStateDisconnected)
		ch := w.waitFor(t, ably.ConnectionStateConnected)
		if a.Connection.ID() == old || ch.Reason == nil || ch.Reason.Code != 80008 {
			t.Fatalf("after failed resume: id %q (old %q), reason %v", a.Connection.ID(), old, ch.Reason)
		}
		if m := next(t, msgs); m.Name != "missed" {
			t.Fatalf("first message after resume %q", m.Name)
		}
		if err := b.Channels.Get(name).Publish(ctxT(t), "live", "x"); err != nil {
			t.Fatal(err)
		}
		if m := next(t, msgs); m.Name != "live" {
			t.Fatalf("got %q, want live (no duplicate of missed)", m.Name)
		}
		if err := a.Channels.Get(name).Publish(ctxT(t), "from-a", "x"); err != nil {
			t.Fatalf("publish after failed resume: %v", err)
		}
	})
}

// TestRawReplayAfterChannelSerial: re-ATTACH with a channelSerial replays
// what was missed, with RESUMED; an unknown serial attaches at the head with
// an error (SHOULD).
func TestRawReplayAfterChannelSerial(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "replay")
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		c.send(map[string]any{"action": actAttach, "channel": name})
		serial, _ := c.expect(actAttached)["channelSerial"].(string)
		c.send(map[string]any{"action": actDetach, "channel": name})
		c.expect(actDetached)
		for i := 0; i < 2; i++ {
			c.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": i, "messages": []any{map[string]any{"name": "m"}}})
			c.expect(actAck)
		}
		c.send(map[string]any{"action": actAttach, "channel": name, "channelSerial": serial})
		att := c.expect(actAttached)
		if num(att["flags"])&flagResumed == 0 || errOf(att) != 0 {
			t.Fatalf("ATTACHED after replayable serial: %v", att)
		}
		for i := 0; i < 2; i++ {
			if m := c.expect(actMessage); !strings.HasSuffix(m["channelSerial"].(string), []string{"1", "2"}[i]) {
				t.Fatalf("replay %d: %v", i, m)
			}
		}
		c.send(map[string]any{"action": actAttach, "channel": name, "channelSerial": serial})
		if att := c.expect(actAttached); num(att["flags"])&flagResumed == 0 {
			t.Fatalf("repeat ATTACH: %v", att) // no replay on the same connection
		}
		c.send(map[string]any{"action": actDetach, "channel": name})
		c.expect(actDetached)
		c.send(map[string]any{"action": actAttach, "channel": name, "channelSerial": "other-0000000000000001"})
		if att := c.expect(actAttached); errOf(att) != 80016 || num(att["flags"])&flagResumed != 0 {
			t.Fatalf("ATTACHED after unknown serial: %v", att)
		}
	})
}

// TestGracefulShutdown: Close sends DISCONNECTED so SDKs retry rather than
// fail.
func TestGracefulShutdown(t *testing.T) {
	formats(t, func(t *testing.T, binary bool) {
		s := startServer(t, Options{})
		_, w := newRealtime(t, clientOpts(s, binary)...)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		ch := w.waitFor(t, ably.ConnectionStateDisconnected)
		if ch.Reason == nil || ch.Reason.Code != 80003 {
			t.Fatalf("DISCONNECTED reason %v", ch.Reason)
		}
	})
}
