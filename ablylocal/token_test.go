package ablylocal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// tokenSource returns an authCallback that signs TokenRequests with the
// server key through an ably-go REST client (the app-server pattern),
// counting calls.
func tokenSource(t testing.TB, s *Server, binary bool, params ably.TokenParams, calls *atomic.Int32) ably.ClientOption {
	keyClient := newREST(t, clientOpts(s, binary)...)
	return ably.WithAuthCallback(func(ctx context.Context, _ ably.TokenParams) (ably.Tokener, error) {
		calls.Add(1)
		p := params
		return keyClient.Auth.CreateTokenRequest(&p)
	})
}

// TestTokenAuthRestrictedCapability: authCallback → signed TokenRequest →
// requestToken → token connect; the capability is enforced on attach,
// publish, history and channel metadata; clientId stamped (MUST 12-14).
func TestTokenAuthRestrictedCapability(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		var calls atomic.Int32
		params := ably.TokenParams{Capability: `{"ok:*":["publish","subscribe","history"]}`, ClientID: "carol"}
		c, _ := newRealtime(t, tokenOpts(s, binary, tokenSource(t, s, binary, params, &calls))...)
		if c.Auth.ClientID() != "carol" || calls.Load() != 1 {
			t.Fatalf("clientId %q, callback calls %d", c.Auth.ClientID(), calls.Load())
		}
		okName := uniq(t, "ok:chan")
		msgs := subscribe(t, c, okName)
		if err := c.Channels.Get(okName).Publish(ctxT(t), "n", "d"); err != nil {
			t.Fatalf("allowed publish: %v", err)
		}
		if m := next(t, msgs); m.ClientID != "carol" {
			t.Fatalf("clientId not stamped: %+v", m)
		}
		denied := uniq(t, "secret")
		if err := c.Channels.Get(denied).Attach(ctxT(t)); errCode(err) != 40160 {
			t.Fatalf("denied attach: %v", err)
		}
		if st := c.Channels.Get(denied).State(); st != ably.ChannelStateFailed {
			t.Fatalf("denied channel state %v", st)
		}
		if err := c.Channels.Get(uniq(t, "other")).Publish(ctxT(t), "n", "d"); errCode(err) != 40160 {
			t.Fatalf("denied publish: %v", err)
		}
		if c.Connection.State() != ably.ConnectionStateConnected {
			t.Fatalf("connection %v", c.Connection.State())
		}
		rest := newREST(t, tokenOpts(s, binary, tokenSource(t, s, binary, params, &calls))...)
		if items := historyItems(t, rest.Channels.Get(okName).History()); len(items) != 1 {
			t.Fatalf("token history: %d items", len(items))
		}
		if _, err := rest.Channels.Get(denied).History().Pages(ctxT(t)); errCode(err) != 40160 {
			t.Fatalf("denied history: %v", err)
		}
		if _, err := rest.Channels.Get(okName).Status(ctxT(t)); errCode(err) != 40160 {
			t.Fatalf("status without channel-metadata: %v", err)
		}
		// ably-go refuses a foreign clientId itself; check the server with a raw client
		td, aerr := s.auth.RequestToken(s.Keys()[0].Name, auth.TokenRequest{KeyName: s.Keys()[0].Name, ClientID: "carol"}, &auth.Identity{KeyName: s.Keys()[0].Name})
		if aerr != nil {
			t.Fatal(aerr)
		}
		raw := dialRaw(t, s, binary, url.Values{"access_token": {td.Token}})
		if d := raw.expect(actConnected)["connectionDetails"].(map[string]any); d["clientId"] != "carol" {
			t.Fatalf("connectionDetails.clientId = %v", d["clientId"])
		}
		raw.send(map[string]any{"action": actMessage, "channel": okName, "msgSerial": 0, "messages": []any{map[string]any{"clientId": "mallory"}}})
		if n := raw.expect(actNack); errOf(n) != 40012 {
			t.Fatalf("foreign clientId → %v", n)
		}
		raw2 := dialRaw(t, s, binary, url.Values{"access_token": {td.Token}, "clientId": {"mallory"}})
		if e := raw2.expect(actError); errOf(e) != 40102 {
			t.Fatalf("conflicting clientId param → %v", e)
		}
	})
}

// TestTokenExpiryAndInbandAuth: DISCONNECTED 40142 at expiry, renewal via
// the callback, and in-band AUTH answered with CONNECTED (SHOULD).
func TestTokenExpiryAndInbandAuth(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		var calls atomic.Int32
		c, w := newRealtime(t, tokenOpts(s, binary, tokenSource(t, s, binary, ably.TokenParams{TTL: 1500}, &calls))...)
		id := c.Connection.ID()
		if _, err := c.Auth.Authorize(ctxT(t), &ably.TokenParams{TTL: 1500}); err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		if c.Connection.ID() != id || c.Connection.State() != ably.ConnectionStateConnected {
			t.Fatalf("in-band AUTH changed the connection: %q→%q %v", id, c.Connection.ID(), c.Connection.State())
		}
		ch := w.waitFor(t, ably.ConnectionStateDisconnected)
		if ch.Reason == nil || ch.Reason.Code != 40142 {
			t.Fatalf("DISCONNECTED reason %v, want 40142", ch.Reason)
		}
		w.waitFor(t, ably.ConnectionStateConnected)
		if calls.Load() < 3 {
			t.Fatalf("authCallback called %d times, want ≥ 3 (connect, authorize, renewal)", calls.Load())
		}
	})
}

// TestAblyJWT: an HS256 Ably JWT minted by the app with the key secret is
// accepted by realtime and REST (SHOULD).
func TestAblyJWT(t *testing.T) {
	s := startServer(t, Options{})
	k := s.Keys()[0]
	jwt := mintJWT(k.Name, k.Secret, `{"*":["*"]}`, "jay", time.Now().Add(time.Hour))
	formats(t, func(t *testing.T, binary bool) {
		c, _ := newRealtime(t, tokenOpts(s, binary, ably.WithToken(jwt))...)
		if c.Auth.ClientID() != "jay" {
			t.Fatalf("clientId %q", c.Auth.ClientID())
		}
		rest := newREST(t, tokenOpts(s, binary, ably.WithToken(jwt))...)
		if err := rest.Channels.Get("jwt").Publish(ctxT(t), "n", "d"); err != nil {
			t.Fatalf("REST with JWT: %v", err)
		}
	})
}

// mintJWT builds an HS256 Ably JWT (test helper, written for this test).
func mintJWT(keyName, secret, capability, clientID string, exp time.Time) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"typ": "JWT", "alg": "HS256", "kid": keyName})
	body := enc(map[string]any{"iat": time.Now().Unix(), "exp": exp.Unix(), "x-ably-capability": capability, "x-ably-clientId": clientID})
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(head + "." + body))
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
