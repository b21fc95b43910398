package ablylocal

import (
	"net/url"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// Tests for the protocol divergences of issue 14 (items 1-6 and 8; item 7
// is in resume_test.go, item 9 in rest_test.go).

// publishN publishes n messages named m0.. on a channel over a raw client.
func publishN(t *testing.T, c *rawClient, name string, from, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": from + i, "messages": []any{map[string]any{"name": "m"}}})
		c.expect(actAck)
	}
}

// TestNumericChannelParams (item 1): a param sent as a number or boolean
// (ably-js `{params: {rewind: 1}}`) is accepted as its text, in both
// formats; the connection is not failed with 40000.
func TestNumericChannelParams(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "numparam")
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		publishN(t, c, name, 0, 3)
		c.send(map[string]any{"action": actAttach, "channel": name, "params": map[string]any{"rewind": 1, "occupancy": true}})
		att := c.expect(actAttached)
		params, _ := att["params"].(map[string]any)
		if params["rewind"] != "1" {
			t.Fatalf("ATTACHED params %v, want rewind \"1\"", att["params"])
		}
		if m := c.expect(actMessage); m["channelSerial"] != s.serial(3) {
			t.Fatalf("rewind 1 replayed %v, want the last message", m)
		}
		c.send(map[string]any{"action": actHeartbeat, "id": "still-up"})
		if hb := c.expect(actHeartbeat); hb["id"] != "still-up" {
			t.Fatalf("heartbeat echo %v", hb)
		}
	})
}

// TestRewindSetsHasBacklog (item 5): ATTACHED carries HAS_BACKLOG when a
// rewind replays messages, and not when there is nothing to replay.
func TestRewindSetsHasBacklog(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		empty, full := uniq(t, "backlog-empty"), uniq(t, "backlog-full")
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		c.send(map[string]any{"action": actAttach, "channel": empty, "params": map[string]any{"rewind": "5"}})
		if att := c.expect(actAttached); num(att["flags"])&flagHasBacklog != 0 {
			t.Fatalf("HAS_BACKLOG without messages: %v", att)
		}
		publishN(t, c, full, 0, 2)
		c.send(map[string]any{"action": actAttach, "channel": full, "params": map[string]any{"rewind": "5"}})
		if att := c.expect(actAttached); num(att["flags"])&flagHasBacklog == 0 {
			t.Fatalf("ATTACHED after a rewind that replays lacks HAS_BACKLOG: %v", att)
		}
		c.expect(actMessage)
		c.expect(actMessage)
	})
}

// TestClientSyncKeepsConnection (item 2): a client SYNC (action 16) is
// answered with the members instead of failing the connection; SYNC for a
// channel that is not attached is ignored.
func TestClientSyncKeepsConnection(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		name := uniq(t, "sync")
		c := dialRaw(t, s, binary, url.Values{"clientId": {"alice"}})
		c.expect(actConnected)
		c.send(map[string]any{"action": actAttach, "channel": name})
		c.expect(actAttached)
		c.send(map[string]any{"action": actPresence, "channel": name, "msgSerial": 0, "presence": []any{map[string]any{"action": presEnter}}})
		readUntil(c, actAck)
		c.send(map[string]any{"action": actSync, "channel": name})
		sync := readUntil(c, actSync)
		pres, _ := sync["presence"].([]any)
		if len(pres) != 1 || pres[0].(map[string]any)["clientId"] != "alice" {
			t.Fatalf("SYNC answer %v, want alice", sync)
		}
		c.send(map[string]any{"action": actSync, "channel": "not-attached"})
		c.send(map[string]any{"action": actHeartbeat, "id": "after-sync"})
		if hb := c.expect(actHeartbeat); hb["id"] != "after-sync" {
			t.Fatalf("heartbeat echo %v", hb)
		}
	})
}

// TestChannelModesEnforced (item 3): with the capability allowing it, a
// publish or presence enter on a channel attached without the PUBLISH or
// PRESENCE mode is refused (40165, "channel mode not requested when
// attaching"); the connection stays up and an unattached publish still works.
func TestChannelModesEnforced(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c, _ := newRealtime(t, clientOpts(s, binary, ably.WithClientID("moe"))...)
		name := uniq(t, "modes")
		ch := c.Channels.Get(name, ably.ChannelWithModes(ably.ChannelModeSubscribe))
		if err := ch.Attach(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if err := ch.Presence.Enter(ctxT(t), "x"); errCode(err) != 40165 {
			t.Fatalf("presence enter without PRESENCE mode: %v, want 40165", err)
		}
		if err := ch.Publish(ctxT(t), "n", "x"); errCode(err) != 40165 {
			t.Fatalf("publish without PUBLISH mode: %v, want 40165", err)
		}
		if st := c.Connection.State(); st != ably.ConnectionStateConnected {
			t.Fatalf("connection %v after mode errors", st)
		}
		if err := c.Channels.Get(uniq(t, "unattached")).Publish(ctxT(t), "n", "x"); err != nil {
			t.Fatalf("publish without attaching: %v", err)
		}
	})
}

// TestAttachedEchoesModesAndParams (item 4): ATTACHED echoes the
// recognised params (modes, rewind; not delta or unknown ones), applies the
// `modes` param, and grants every mode the capability permits when asked
// (object and annotation modes included); default modes are the four core
// modes within the capability.
func TestAttachedEchoesModesAndParams(t *testing.T) {
	s := startServer(t, Options{Keys: keyWith(t, `{"sub:*":["subscribe"],"all:*":["*"]}`)})
	formats(t, func(t *testing.T, binary bool) {
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		c.send(map[string]any{"action": actAttach, "channel": uniq(t, "all:echo"),
			"params": map[string]any{"modes": "subscribe,presence_subscribe", "rewind": "0", "delta": "vcdiff", "bogus": "x"}})
		att := c.expect(actAttached)
		params, _ := att["params"].(map[string]any)
		if len(params) != 2 || params["modes"] != "subscribe,presence_subscribe" || params["rewind"] != "0" {
			t.Fatalf("ATTACHED params %v, want modes and rewind only", att["params"])
		}
		if num(att["flags"])&modeMask != flagSubscribe|flagPresenceSubscribe {
			t.Fatalf("ATTACHED flags %x, want the modes param's modes", num(att["flags"]))
		}
		objects := flagObjectSubscribe | flagObjectPublish | flagAnnotationSubscribe
		c.send(map[string]any{"action": actAttach, "channel": uniq(t, "all:objects"), "flags": objects | flagSubscribe})
		if att := c.expect(actAttached); num(att["flags"])&modeMask != objects|flagSubscribe {
			t.Fatalf("ATTACHED flags %x, want %x", num(att["flags"])&modeMask, objects|flagSubscribe)
		}
		c.send(map[string]any{"action": actAttach, "channel": "sub:x"})
		if att := c.expect(actAttached); num(att["flags"])&modeMask != flagSubscribe|flagPresenceSubscribe {
			t.Fatalf("default modes for a subscribe capability: %x", num(att["flags"]))
		}
		c.send(map[string]any{"action": actAttach, "channel": uniq(t, "all:badmode"), "params": map[string]any{"modes": "subscribe,teleport"}})
		if e := c.expect(actError); errOf(e) != 40000 || e["channel"] == nil {
			t.Fatalf("unknown mode: %v", e)
		}
	})
}

// TestInbandAuthNarrowsAttachments (item 6): after an in-band AUTH with a
// narrower capability, a channel the new token does not permit is detached
// with a channel ERROR 40160 (FAILED in ably-go); a permitted one keeps
// receiving.
func TestInbandAuthNarrowsAttachments(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c, w := newRealtime(t, clientOpts(s, binary, ably.WithUseTokenAuth(true))...)
		keep, lose := uniq(t, "keep:x"), uniq(t, "lose:x")
		msgs := subscribe(t, c, keep)
		lost := c.Channels.Get(lose)
		failed := make(chan ably.ChannelStateChange, 4)
		lost.On(ably.ChannelEventFailed, func(ch ably.ChannelStateChange) { failed <- ch })
		if err := lost.Attach(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Auth.Authorize(ctxT(t), &ably.TokenParams{Capability: `{"keep:*":["*"]}`}); err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		select {
		case ch := <-failed:
			if ch.Reason == nil || ch.Reason.Code != 40160 {
				t.Fatalf("channel failed with %v, want 40160", ch.Reason)
			}
		case <-time.After(testTimeout):
			t.Fatalf("channel %s still %v after AUTH without its capability", lose, lost.State())
		}
		if st := c.Connection.State(); st != ably.ConnectionStateConnected {
			t.Fatalf("connection %v", st)
		}
		_ = w
		rest := newREST(t, clientOpts(s, binary)...)
		if err := rest.Channels.Get(keep).Publish(ctxT(t), "still", "x"); err != nil {
			t.Fatal(err)
		}
		if m := next(t, msgs); m.Name != "still" {
			t.Fatalf("got %q", m.Name)
		}
		if n := len(s.lookupChannel(lose).attached); n != 0 {
			t.Fatalf("%d attachments left on the channel the token no longer permits", n)
		}
	})
}

// TestJWTUnknownKeyIs404 (item 8): a JWT whose kid names no key of the
// endpoint gets 404 40400, not a renewable token error (40144/401), over
// REST and realtime.
func TestJWTUnknownKeyIs404(t *testing.T) {
	s := startServer(t, Options{})
	k := s.Keys()[0]
	for name, kid := range map[string]string{"unknown key": k.Name + "x", "unknown app": "otherapp.key"} {
		jwt := mintJWT(kid, k.Secret, `{"*":["*"]}`, "", time.Now().Add(time.Hour))
		t.Run(name, func(t *testing.T) {
			formats(t, func(t *testing.T, binary bool) {
				rest := newREST(t, tokenOpts(s, binary, ably.WithToken(jwt))...)
				_, err := rest.Channels.Get("jwt").History().Pages(ctxT(t))
				if e, ok := err.(*ably.ErrorInfo); !ok || e.Code != 40400 || e.StatusCode != 404 {
					t.Fatalf("REST with unknown kid: %v, want 40400/404", err)
				}
				c, err := ably.NewRealtime(append(tokenOpts(s, binary, ably.WithToken(jwt)), ably.WithAutoConnect(false))...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				w := watch(c)
				c.Connect()
				for ch := range w.ch {
					if ch.Current == ably.ConnectionStateFailed {
						if ch.Reason == nil || ch.Reason.Code != 40400 || ch.Reason.StatusCode != 404 {
							t.Fatalf("realtime FAILED with %v, want 40400/404", ch.Reason)
						}
						return
					}
					if ch.Current == ably.ConnectionStateConnected {
						t.Fatal("connected with an unknown kid")
					}
				}
			})
		})
	}
}
