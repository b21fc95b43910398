package ablylocal

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// shiftedClock is a server clock a test can move forward (to expire
// connection state without waiting).
type shiftedClock struct{ offset atomic.Int64 }

// now is the Options.Now of a server using the clock.
func (c *shiftedClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// advance moves the clock forward by d.
func (c *shiftedClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// dropTransport closes a connection's socket from the server side, with
// before running while the server still holds the connection's state (its
// attachments are already off the delivery lists).
func dropTransport(t *testing.T, s *Server, id string, before func()) {
	t.Helper()
	sc := findConn(t, s, id)
	s.mu.Lock()
	s.onConnClosed = func(c *conn, _ *errorInfo) {
		if c == sc && before != nil {
			before()
		}
	}
	s.mu.Unlock()
	_ = sc.ws.CloseNow()
}

// publishREST publishes one message by REST (the server's first key).
func publishREST(t *testing.T, s *Server, channel, name string) {
	t.Helper()
	in := []inMessage{{Name: name}}
	m, err := s.prepareMessages(in, "", false, "", randomID(6))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.publish(channel, m, nil, ""); err != nil {
		t.Fatal(err)
	}
}

// TestResumeSameConnection (RTN15c6): ably-go drops its transport and comes
// back with its connection key: same connectionId, no error, the messages
// published while it was away arrive once and in order, then live ones;
// the channel re-attaches RESUMED (no UPDATE event, RTL12).
func TestResumeSameConnection(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		a, w := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "resume")
		msgs := subscribe(t, a, name)
		updates := make(chan ably.ChannelStateChange, 4)
		a.Channels.Get(name).On(ably.ChannelEventUpdate, func(ch ably.ChannelStateChange) { updates <- ch })
		publishREST(t, s, name, "before")
		if m := next(t, msgs); m.Name != "before" {
			t.Fatalf("got %q", m.Name)
		}
		old := a.Connection.ID()
		dropTransport(t, s, old, func() {
			publishREST(t, s, name, "away-1")
			publishREST(t, s, name, "away-2")
		})
		w.waitFor(t, ably.ConnectionStateDisconnected)
		ch := w.waitFor(t, ably.ConnectionStateConnected)
		if a.Connection.ID() != old || ch.Reason != nil {
			t.Fatalf("after resume: id %q (old %q), reason %v; want the same connection without error", a.Connection.ID(), old, ch.Reason)
		}
		for _, want := range []string{"away-1", "away-2"} {
			if m := next(t, msgs); m.Name != want {
				t.Fatalf("got %q, want %q", m.Name, want)
			}
		}
		publishREST(t, s, name, "live")
		if m := next(t, msgs); m.Name != "live" {
			t.Fatalf("got %q, want live (a missed message came twice?)", m.Name)
		}
		select {
		case u := <-updates:
			t.Fatalf("channel UPDATE after resume (re-attach not RESUMED): %+v", u)
		default:
		}
		if err := a.Channels.Get(name).Publish(ctxT(t), "from-a", "x"); err != nil {
			t.Fatalf("publish after resume: %v", err)
		}
		if m := next(t, msgs); m.Name != "from-a" || m.ConnectionID != old {
			t.Fatalf("own message after resume: %q from %q", m.Name, m.ConnectionID)
		}
	})
}

// TestRawResumeReplaysAndReacks: on a resumed connection a frame resent
// with an msgSerial already handled is acknowledged again (once) without
// publishing it twice (RTN19a2); a re-ATTACH with the channelSerial gets
// RESUMED and the messages missed.
func TestRawResumeReplaysAndReacks(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "reack")
		c := dialRaw(t, s, binary, nil)
		conn := c.expect(actConnected)
		id, key := conn["connectionId"].(string), conn["connectionKey"].(string)
		c.send(map[string]any{"action": actAttach, "channel": name})
		serial := c.expect(actAttached)["channelSerial"].(string)
		// publish and drop the transport without reading the ACK or the echo
		c.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": 0, "messages": []any{map[string]any{"name": "mine"}}})
		waitFor(t, "the publish to be stored", func() bool { return historyLen(s, name) == 1 })
		dropTransport(t, s, id, func() { publishREST(t, s, name, "other") })
		_ = c.ws.CloseNow()
		waitFor(t, "the state to be kept", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.sessions[key] != nil && !s.sessions[key].retainedUntil.IsZero()
		})
		r := dialRaw(t, s, binary, url.Values{"resume": {key}})
		m := r.expect(actConnected)
		if m["connectionId"] != id || errOf(m) != 0 {
			t.Fatalf("resume → %v, want connectionId %s without error", m, id)
		}
		r.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": 0, "messages": []any{map[string]any{"name": "mine"}}})
		if ack := r.expect(actAck); num(ack["msgSerial"]) != 0 || num(ack["count"]) != 1 {
			t.Fatalf("ACK of the resent frame: %v", ack)
		}
		r.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": 0, "messages": []any{map[string]any{"name": "mine"}}})
		r.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": 1, "messages": []any{map[string]any{"name": "next"}}})
		if ack := r.expect(actAck); num(ack["msgSerial"]) != 1 {
			t.Fatalf("second resend of 0 was acknowledged again, or 1 not: %v", ack)
		}
		r.send(map[string]any{"action": actAttach, "channel": name, "channelSerial": serial})
		att := r.expect(actAttached)
		if num(att["flags"])&flagResumed == 0 || errOf(att) != 0 {
			t.Fatalf("re-ATTACH after resume: %v", att)
		}
		var names []string
		for len(names) < 3 {
			names = append(names, r.expect(actMessage)["messages"].([]any)[0].(map[string]any)["name"].(string))
		}
		if fmt.Sprint(names) != "[mine other next]" {
			t.Fatalf("replayed %v, want [mine other next]", names)
		}
		if n := historyLen(s, name); n != 3 {
			t.Fatalf("history has %d messages, want 3 (the resent frame was published again?)", n)
		}
	})
}

// TestRecoverFromAnotherClient (RTN16): a new ably-go client with the
// recovery key of a connection whose client went away (a raw client here,
// so it cannot resume first) gets the same connectionId and, attaching from
// the recovered channelSerial, the messages it missed, then live ones.
func TestRecoverFromAnotherClient(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "recover")
		c := dialRaw(t, s, binary, nil)
		conn := c.expect(actConnected)
		id, key := conn["connectionId"].(string), conn["connectionKey"].(string)
		c.send(map[string]any{"action": actAttach, "channel": name})
		c.expect(actAttached)
		publishREST(t, s, name, "seen")
		serial := c.expect(actMessage)["channelSerial"].(string)
		publishREST(t, s, name, "unseen") // in flight when the client dies
		dropTransport(t, s, id, func() { publishREST(t, s, name, "away") })
		_ = c.ws.CloseNow()
		rk, err := (&ably.RecoveryKeyContext{ConnectionKey: key, MsgSerial: 0, ChannelSerials: map[string]string{name: serial}}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		b, w := newRealtime(t, clientOpts(s, binary, ably.WithRecover(rk))...)
		_ = w
		if b.Connection.ID() != id || b.Connection.ErrorReason() != nil {
			t.Fatalf("recovered connection %q (want %q), error %v", b.Connection.ID(), id, b.Connection.ErrorReason())
		}
		msgs := subscribe(t, b, name)
		for _, want := range []string{"unseen", "away"} {
			if m := next(t, msgs); m.Name != want {
				t.Fatalf("got %q, want %q", m.Name, want)
			}
		}
		publishREST(t, s, name, "live")
		if m := next(t, msgs); m.Name != "live" {
			t.Fatalf("got %q, want live", m.Name)
		}
	})
}

// TestResumeExpiredKey (issue 14 item 7): the key of a connection that
// closed, or whose state outlived the connection state TTL, is expired
// (80008); a well-formed key the endpoint never issued is invalid (80018).
func TestResumeExpiredKey(t *testing.T) {
	clock := &shiftedClock{}
	s := startServer(t, Options{Now: clock.now})
	formats(t, func(t *testing.T, binary bool) {
		resume := func(key string) map[string]any {
			return dialRaw(t, s, binary, url.Values{"resume": {key}}).expect(actConnected)
		}
		c := dialRaw(t, s, binary, nil)
		closedKey := c.expect(actConnected)["connectionKey"].(string)
		c.send(map[string]any{"action": actClose})
		c.expect(actClosed)
		waitFor(t, "the closed state to be dropped", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			_, gone := s.tombstones[closedKey]
			return gone
		})
		if m := resume(closedKey); errOf(m) != 80008 {
			t.Fatalf("resume of a closed connection → %v, want 80008", m)
		}
		d := dialRaw(t, s, binary, nil)
		droppedKey := d.expect(actConnected)["connectionKey"].(string)
		_ = d.ws.CloseNow()
		waitFor(t, "the state to be kept", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.sessions[droppedKey] != nil && !s.sessions[droppedKey].retainedUntil.IsZero()
		})
		clock.advance(2*time.Minute + time.Second)
		if m := resume(droppedKey); errOf(m) != 80008 || m["connectionKey"] == droppedKey {
			t.Fatalf("resume after the TTL → %v, want a new connection with 80008", m)
		}
		if m := resume("0123abcd!feedbeef"); errOf(m) != 80018 {
			t.Fatalf("resume with an unknown key → %v, want 80018", m)
		}
	})
}

// TestFailedResumeReattaches: when the state has expired, ably-go gets a new
// connectionId plus 80008, re-attaches with its channelSerial and gets the
// message it missed exactly once; its publishes work with a reset msgSerial
// (MUST 16, SHOULD replay).
func TestFailedResumeReattaches(t *testing.T) {
	clock := &shiftedClock{}
	s := startServer(t, Options{Now: clock.now})
	formats(t, func(t *testing.T, binary bool) {
		a, w := newRealtime(t, clientOpts(s, binary)...)
		b, _ := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "resume")
		msgs := subscribe(t, a, name)
		old := a.Connection.ID()
		s.mu.Lock()
		s.onRetained = func(c *conn) {
			if c.id == old {
				clock.advance(3 * time.Minute) // the state expires before the client is back
			}
		}
		s.mu.Unlock()
		dropTransport(t, s, old, func() { publishREST(t, s, name, "missed") })
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

// historyLen returns the number of messages a channel keeps.
func historyLen(s *Server, name string) int {
	ch := s.lookupChannel(name)
	if ch == nil {
		return 0
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return len(ch.history)
}

// waitFor polls cond until it holds (no event exists for server-internal
// state), failing after testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
		if att["channelSerial"] != serial {
			// the head would tell the client it has what the replay is
			// still to bring, and a replay cut short would be lost
			t.Fatalf("ATTACHED with a replay carries %v, want the resume point %s", att["channelSerial"], serial)
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

// TestResumeKeepsPresence: a dropped transport does not make its presence
// members leave; a resumed connection still has them. When the state
// expires (a 2 s TTL here) the members leave with a server LEAVE.
func TestResumeKeepsPresence(t *testing.T) {
	s := startServer(t, Options{ConnectionStateTTL: 2 * time.Second})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "respres")
		watcher := dialRaw(t, s, binary, nil)
		watcher.expect(actConnected)
		watcher.send(map[string]any{"action": actAttach, "channel": name})
		watcher.expect(actAttached)
		enter := func(key string) (string, string) {
			q := url.Values{"clientId": {"alice"}}
			if key != "" {
				q.Set("resume", key)
			}
			a := dialRaw(t, s, binary, q)
			m := a.expect(actConnected)
			if key == "" {
				a.send(map[string]any{"action": actAttach, "channel": name})
				a.expect(actAttached)
				a.send(map[string]any{"action": actPresence, "channel": name, "msgSerial": 0, "presence": []any{map[string]any{"action": presEnter}}})
				readUntil(a, actAck)
			} else if errOf(m) != 0 {
				t.Fatalf("resume → %v", m)
			} else if n := s.details(name, s.lookupChannel(name)).Status.Occupancy.Metrics.PresenceMembers; n != 1 {
				t.Fatalf("%d presence members after the resume, want alice still there", n)
			}
			id, k := m["connectionId"].(string), m["connectionKey"].(string)
			dropTransport(t, s, id, nil)
			return id, k
		}
		_, key := enter("")
		if p := readUntil(watcher, actPresence); num(p["presence"].([]any)[0].(map[string]any)["action"]) != presEnter {
			t.Fatalf("enter %v", p)
		}
		waitFor(t, "the state to be kept", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.sessions[key] != nil && !s.sessions[key].retainedUntil.IsZero()
		})
		if n := s.details(name, s.lookupChannel(name)).Status.Occupancy.Metrics.PresenceMembers; n != 1 {
			t.Fatalf("%d presence members right after the drop, want 1 (kept for a resume)", n)
		}
		enter(key) // resume, then drop again and stay away
		leave := readUntil(watcher, actPresence)
		pm := leave["presence"].([]any)[0].(map[string]any)
		if num(pm["action"]) != presLeave || pm["clientId"] != "alice" {
			t.Fatalf("after the state expired: %v, want alice's LEAVE", leave)
		}
	})
}
