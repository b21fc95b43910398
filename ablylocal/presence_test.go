package ablylocal

import (
	"net/url"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// presenceEvents subscribes to a channel's presence.
func presenceEvents(t testing.TB, c *ably.Realtime, name string) <-chan *ably.PresenceMessage {
	t.Helper()
	out := make(chan *ably.PresenceMessage, 100)
	if _, err := c.Channels.Get(name).Presence.SubscribeAll(ctxT(t), func(m *ably.PresenceMessage) { out <- m }); err != nil {
		t.Fatalf("presence subscribe: %v", err)
	}
	return out
}

// nextPresence receives one presence event or fails.
func nextPresence(t testing.TB, ch <-chan *ably.PresenceMessage) *ably.PresenceMessage {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for a presence event")
		return nil
	}
}

// TestPresence: enter/update/leave broadcast to subscribers (sender
// included), SYNC of current members on attach, LEAVE when a member's
// connection closes, REST presence and occupancy.
func TestPresence(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "room")
		ann, _ := newRealtime(t, clientOpts(s, binary, ably.WithClientID("ann"))...)
		bob, _ := newRealtime(t, clientOpts(s, binary)...)
		events := presenceEvents(t, bob, name)
		own := presenceEvents(t, ann, name)
		if err := ann.Channels.Get(name).Presence.Enter(ctxT(t), "hello"); err != nil {
			t.Fatalf("enter: %v", err)
		}
		if m := nextPresence(t, events); m.Action != ably.PresenceActionEnter || m.ClientID != "ann" || m.Data != "hello" || m.ConnectionID != ann.Connection.ID() {
			t.Fatalf("enter event %v", m)
		}
		if m := nextPresence(t, own); m.Action != ably.PresenceActionEnter {
			t.Fatalf("sender's own enter event %v", m)
		}
		if err := ann.Channels.Get(name).Presence.Update(ctxT(t), "busy"); err != nil {
			t.Fatal(err)
		}
		if m := nextPresence(t, events); m.Action != ably.PresenceActionUpdate || m.Data != "busy" {
			t.Fatalf("update event %v", m)
		}
		members, err := bob.Channels.Get(name).Presence.Get(ctxT(t))
		if err != nil || len(members) != 1 || members[0].ClientID != "ann" {
			t.Fatalf("bob's members %v %v", members, err)
		}
		// a late joiner gets the members by SYNC
		cat, _ := newRealtime(t, clientOpts(s, binary)...)
		members, err = cat.Channels.Get(name).Presence.Get(ctxT(t))
		if err != nil || len(members) != 1 || members[0].ClientID != "ann" || members[0].Data != "busy" {
			t.Fatalf("late joiner's members %v %v", members, err)
		}
		_, _, body := httpDo(t, s, "GET", "/channels/"+url.PathEscape(name)+"/presence", "", "")
		if list := body.([]any); len(list) != 1 || num(list[0].(map[string]any)["action"]) != presPresent {
			t.Fatalf("REST presence %v", body)
		}
		st, err := newREST(t, clientOpts(s, binary)...).Channels.Get(name).Status(ctxT(t))
		if err != nil || st.Status.Occupancy.Metrics.PresenceMembers != 1 {
			t.Fatalf("occupancy %+v %v", st, err)
		}
		if err := ann.Channels.Get(name).Presence.Leave(ctxT(t), nil); err != nil {
			t.Fatal(err)
		}
		if m := nextPresence(t, events); m.Action != ably.PresenceActionLeave || m.ClientID != "ann" {
			t.Fatalf("leave event %v", m)
		}
		if err := ann.Channels.Get(name).Presence.Enter(ctxT(t), nil); err != nil {
			t.Fatal(err)
		}
		nextPresence(t, events)
		ann.Close()
		if m := nextPresence(t, events); m.Action != ably.PresenceActionLeave || m.ClientID != "ann" {
			t.Fatalf("leave on close %v", m)
		}
		members, err = bob.Channels.Get(name).Presence.Get(ctxT(t))
		if err != nil || len(members) != 0 {
			t.Fatalf("members after close %v %v", members, err)
		}
	})
}

// TestPresenceRules: capability (40160) and enterClient with a key.
func TestPresenceRules(t *testing.T) {
	s := startServer(t, Options{Keys: keyWith(t, `{"nopres":["subscribe","publish"],"other:*":["*"]}`)})
	formats(t, func(t *testing.T, binary bool) {
		c, _ := newRealtime(t, clientOpts(s, binary, ably.WithClientID("zed"))...)
		if err := c.Channels.Get("nopres").Presence.Enter(ctxT(t), nil); errCode(err) != 40160 {
			t.Fatalf("enter without presence capability: %v", err)
		}
		k, _ := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "other:clients")
		if err := k.Channels.Get(name).Presence.EnterClient(ctxT(t), "bot-1", "x"); err != nil {
			t.Fatalf("enterClient with a key: %v", err)
		}
		members, err := k.Channels.Get(name).Presence.Get(ctxT(t))
		if err != nil || len(members) != 1 || members[0].ClientID != "bot-1" {
			t.Fatalf("members %v %v", members, err)
		}
	})
}
