package ablylocal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// TestPublishWithoutAttachAndNack: publishing on a never-attached channel
// is ACKed and stored; a denied publish is NACKed with the connection kept
// (MUST 7, 8, 13).
func TestPublishWithoutAttachAndNack(t *testing.T) {
	s := startServer(t, Options{Keys: keyWith(t, `{"open:*":["*"],"ro:*":["subscribe","history"]}`)})
	formats(t, func(t *testing.T, binary bool) {
		c, w := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "open:x")
		if err := c.Channels.Get(name).Publish(ctxT(t), "n", "v"); err != nil {
			t.Fatalf("publish without attach: %v", err)
		}
		if st := c.Channels.Get(name).State(); st != ably.ChannelStateInitialized {
			t.Fatalf("channel state %v: publish should not have attached", st)
		}
		if got := len(s.lookupChannel(name).history); got != 1 {
			t.Fatalf("history len %d", got)
		}
		err := c.Channels.Get(uniq(t, "ro:x")).Publish(ctxT(t), "n", "v")
		if errCode(err) != 40160 {
			t.Fatalf("denied publish: err = %v, want 40160", err)
		}
		if err := c.Channels.Get(uniq(t, "ro:y")).Attach(ctxT(t)); err != nil {
			t.Fatalf("subscribe-only attach: %v", err)
		}
		if c.Connection.State() != ably.ConnectionStateConnected {
			t.Fatalf("connection state %v after NACK", c.Connection.State())
		}
		select {
		case ch := <-w.ch:
			t.Fatalf("unexpected connection change %v", ch)
		default:
		}
	})
}

// keyWith returns one test key with the given capability JSON.
func keyWith(t testing.TB, capability string) []auth.Key {
	t.Helper()
	k, err := auth.ParseKeySpec("app.test:s3cr3t=" + capability)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	return []auth.Key{k}
}

// TestEchoFalse: echo=false suppresses only own messages (MUST 9).
func TestEchoFalse(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		a, _ := newRealtime(t, clientOpts(s, binary, ably.WithEchoMessages(false))...)
		b, _ := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "echo")
		fromA := subscribe(t, a, name)
		fromB := subscribe(t, b, name)
		if err := a.Channels.Get(name).Publish(ctxT(t), "a", "1"); err != nil {
			t.Fatal(err)
		}
		if err := b.Channels.Get(name).Publish(ctxT(t), "b", "2"); err != nil {
			t.Fatal(err)
		}
		if m := next(t, fromA); m.Name != "b" {
			t.Fatalf("echo=false client got its own message %q first", m.Name)
		}
		if m1, m2 := next(t, fromB), next(t, fromB); m1.Name != "a" || m2.Name != "b" {
			t.Fatalf("echo=true client got %q,%q", m1.Name, m2.Name)
		}
	})
}

// TestDataCanonicalisation: strings, bytes and JSON cross formats, realtime
// and REST (MUST 10).
func TestDataCanonicalisation(t *testing.T) {
	s := startServer(t, Options{})
	name := uniq(t, "data")
	pubs := map[bool]*ably.Realtime{}
	subs := map[bool]<-chan *ably.Message{}
	for _, binary := range []bool{true, false} {
		pubs[binary], _ = newRealtime(t, clientOpts(s, binary)...)
		subs[binary] = subscribe(t, pubs[binary], name)
	}
	bin := []byte{0, 1, 2, 0xff}
	// msgpack publisher: raw bin and a map (sent unencoded by ably-go)
	if err := pubs[true].Channels.Get(name).Publish(ctxT(t), "bytes", bin); err != nil {
		t.Fatal(err)
	}
	if err := pubs[true].Channels.Get(name).Publish(ctxT(t), "map", map[string]any{"k": 1}); err != nil {
		t.Fatal(err)
	}
	if err := pubs[false].Channels.Get(name).Publish(ctxT(t), "str", "plain"); err != nil {
		t.Fatal(err)
	}
	for _, binary := range []bool{true, false} {
		m := next(t, subs[binary])
		got, ok := m.Data.([]byte)
		if str, isStr := m.Data.(string); binary && isStr {
			// ably-go's msgpack handle (RawToString) hands bin to the app as a
			// string; TestRawStrAndBinKeptApart checks the wire type.
			got, ok = []byte(str), true
		}
		if !binary { // ably-go realtime does not decode: base64 text + "base64"
			s, _ := m.Data.(string)
			got, _ = base64.StdEncoding.DecodeString(s)
			ok = m.Encoding == "base64"
		}
		if !ok || !bytes.Equal(got, bin) {
			t.Fatalf("binary=%v bytes delivered as %#v (%q)", binary, m.Data, m.Encoding)
		}
		m = next(t, subs[binary])
		var obj map[string]any
		if js, _ := m.Data.(string); m.Encoding != "json" || json.Unmarshal([]byte(js), &obj) != nil || obj["k"] != float64(1) {
			t.Fatalf("binary=%v map delivered as %#v (%q)", binary, m.Data, m.Encoding)
		}
		if m = next(t, subs[binary]); m.Data != "plain" || m.Encoding != "" {
			t.Fatalf("binary=%v string delivered as %#v (%q)", binary, m.Data, m.Encoding)
		}
	}
	// REST history decodes in both formats
	for _, binary := range []bool{true, false} {
		rest := newREST(t, clientOpts(s, binary)...)
		items := historyItems(t, rest.Channels.Get(name).History(ably.HistoryWithDirection(ably.Forwards)))
		if len(items) < 3 {
			t.Fatalf("history has %d items", len(items))
		}
		if !sameBytes(items[0].Data, bin) {
			t.Fatalf("binary=%v history bytes = %#v", binary, items[0].Data)
		}
		if mm, ok := items[1].Data.(map[string]any); !ok || mm["k"] != float64(1) {
			t.Fatalf("binary=%v history map = %#v", binary, items[1].Data)
		}
		if items[2].Data != "plain" {
			t.Fatalf("binary=%v history string = %#v", binary, items[2].Data)
		}
		// REST publish of bytes (base64 text from ably-go) is stored as bytes
		if err := rest.Channels.Get(name).Publish(ctxT(t), "restbytes", bin); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if m := next(t, subs[true]); m.Name != "restbytes" || !sameBytes(m.Data, bin) {
			t.Fatalf("REST bytes delivered to msgpack as %#v", m.Data)
		}
		if m := next(t, subs[false]); m.Name != "restbytes" || m.Encoding != "base64" {
			t.Fatalf("REST bytes delivered to JSON as %#v (%q)", m.Data, m.Encoding)
		}
	}
	// 64 KiB limit: 40009
	err := pubs[true].Channels.Get(name).Publish(ctxT(t), "big", bytes.Repeat([]byte("x"), 65537))
	if errCode(err) != 40009 {
		t.Fatalf("oversize realtime publish: %v", err)
	}
	err = newREST(t, clientOpts(s, false)...).Channels.Get(name).Publish(ctxT(t), "big", string(bytes.Repeat([]byte("x"), 65537)))
	if errCode(err) != 40009 {
		t.Fatalf("oversize REST publish: %v", err)
	}
}

// sameBytes reports whether v holds want, as []byte or (ably-go's msgpack
// handle turns bin into string for interface{} targets) as a string.
func sameBytes(v any, want []byte) bool {
	switch d := v.(type) {
	case []byte:
		return bytes.Equal(d, want)
	case string:
		return d == string(want)
	}
	return false
}

// historyItems loads every history item through ably-go's item iterator
// (which, unlike Pages, decodes data), following Link pagination.
func historyItems(t testing.TB, req ably.HistoryRequest) []*ably.Message {
	t.Helper()
	it, err := req.Items(ctxT(t))
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	var out []*ably.Message
	for it.Next(ctxT(t)) {
		out = append(out, it.Item())
	}
	if it.Err() != nil {
		t.Fatalf("history: %v", it.Err())
	}
	return out
}
