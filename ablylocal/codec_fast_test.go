package ablylocal

import (
	"reflect"
	"strconv"
	"sync"
	"testing"

	"github.com/ably/ably-go/ably"
	"github.com/vmihailenco/msgpack/v5"
)

// reflectDecode is the reflecting decoder decodeFrame falls back to.
func reflectDecode(b []byte) (*inFrame, error) {
	var fr inFrame
	err := msgpack.Unmarshal(b, &fr)
	return &fr, err
}

// sameAsReflecting fails when the fast decoder accepted b but decoded it
// differently from the reflecting decoder; it reports whether it accepted.
func sameAsReflecting(t *testing.T, b []byte) bool {
	t.Helper()
	fast, ok := fastDecodeFrame(b)
	if !ok {
		return false
	}
	slow, err := reflectDecode(b)
	if err != nil {
		t.Fatalf("fast decoder accepted a frame the reflecting one refuses (%v): % x", err, b)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decoders differ on % x\nfast: %#v\nslow: %#v", b, fast, slow)
	}
	return true
}

// TestFastDecodeAblyGoFrames: the frames a real ably-go client sends (the
// connector's publishes among them) decode the same either way, and every
// publish of the connector's shape takes the fast path.
func TestFastDecodeAblyGoFrames(t *testing.T) {
	s := startServer(t, Options{})
	var mu sync.Mutex
	var frames [][]byte
	s.onInbound = func(raw []byte) {
		mu.Lock()
		frames = append(frames, append([]byte(nil), raw...))
		mu.Unlock()
	}
	c, _ := newRealtime(t, clientOpts(s, true)...)
	ch := c.Channels.Get("orders:42")
	if err := ch.Attach(ctxT(t)); err != nil {
		t.Fatalf("attach: %v", err)
	}
	connectorShape := []*ably.Message{
		{ID: "101", Name: "order.updated", Data: `{"i":1,"note":"x"}`, Encoding: "json",
			Extras: map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m-1", "x-bench": "1"}}},
		{ID: "102", Name: "order.updated", Data: `[1,2]`, Encoding: "json",
			Extras: map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m-2", "x-ably-models-reject": "true"}}},
		{ID: "103", Name: "order.deleted", Extras: map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m-3"}}},
	}
	others := []*ably.Message{
		{Name: "bytes", Data: []byte{0, 1, 2, 255}},
		{Name: "map", Data: map[string]any{"k": []any{1, 2.5, nil, true}}},
		{Name: "number-header", Data: "s", Extras: map[string]any{"headers": map[string]any{"n": 7, "f": 1.5}}},
		{Name: "push", Data: "s", Extras: map[string]any{"push": map[string]any{"notification": map[string]any{"title": "t"}}}},
		{ClientID: "", Name: "", Data: ""},
	}
	for _, m := range connectorShape {
		if err := ch.PublishMultiple(ctxT(t), []*ably.Message{m}); err != nil {
			t.Fatalf("publish %s: %v", m.ID, err)
		}
	}
	for _, m := range others {
		if err := ch.PublishMultiple(ctxT(t), []*ably.Message{m}); err != nil {
			t.Fatalf("publish %q: %v", m.Name, err)
		}
	}
	batch := make([]*ably.Message, len(connectorShape))
	for i, m := range connectorShape {
		c := *m
		c.ID = "batch:" + strconv.Itoa(i) // a multi-message publish's ids are <base>:<index>
		batch[i] = &c
	}
	if err := ch.PublishMultiple(ctxT(t), batch); err != nil {
		t.Fatalf("publish a batch: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	fastPublishes := 0
	for _, b := range frames {
		if sameAsReflecting(t, b) {
			if f, _ := fastDecodeFrame(b); f.Action == actMessage {
				fastPublishes++
			}
		}
	}
	if fastPublishes < len(connectorShape)+1 {
		t.Fatalf("%d of %d frames took the fast path as publishes; want the %d of the connector's shape at least", fastPublishes, len(frames), len(connectorShape)+1)
	}
}

// TestFastDecodeGivesUp: frames outside the fast decoder's shape are left
// to the reflecting decoder, and decodeFrame returns what it returns.
func TestFastDecodeGivesUp(t *testing.T) {
	msg := map[string]any{"name": "n", "data": "d"}
	cases := map[string]map[string]any{
		"presence":         {"action": 14, "channel": "c", "presence": []any{map[string]any{"action": 2}}},
		"params":           {"action": 10, "channel": "c", "params": map[string]string{"rewind": "1"}},
		"auth":             {"action": 17, "auth": map[string]any{"accessToken": "t"}},
		"float msgSerial":  {"action": 15, "channel": "c", "msgSerial": 1.0, "messages": []any{msg}},
		"structured data":  {"action": 15, "channel": "c", "messages": []any{map[string]any{"data": map[string]any{"k": 1}}}},
		"message action":   {"action": 15, "channel": "c", "messages": []any{map[string]any{"data": "d", "action": 1}}},
		"timestamp":        {"action": 15, "channel": "c", "messages": []any{map[string]any{"data": "d", "timestamp": 5}}},
		"bin name":         {"action": 15, "channel": "c", "messages": []any{map[string]any{"name": []byte("n")}}},
		"nil message":      {"action": 15, "channel": "c", "messages": []any{nil}},
		"empty bin data":   {"action": 15, "channel": "c", "messages": []any{map[string]any{"data": []byte{}}}},
		"three-deep maps":  {"action": 15, "channel": "c", "messages": []any{map[string]any{"extras": map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}}}}}},
		"array of structs": {"action": 15, "channel": "c", "messages": []any{[]any{"x"}}},
	}
	for name, fr := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := msgpack.Marshal(fr)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := fastDecodeFrame(b); ok && name != "three-deep maps" {
				t.Fatalf("fast decoder accepted %s", name)
			}
			sameAsReflecting(t, b)
			got, gerr := decodeFrame(formatMsgpack, b)
			want, werr := reflectDecode(b)
			if (gerr == nil) != (werr == nil) || (gerr == nil && !reflect.DeepEqual(got, want)) {
				t.Fatalf("decodeFrame %v, %#v; reflecting decoder %v, %#v", gerr, got, werr, want)
			}
		})
	}
	dup := []byte{0x82, 0xa6, 'a', 'c', 't', 'i', 'o', 'n', 0x0f, 0xa6, 'a', 'c', 't', 'i', 'o', 'n', 0x0a}
	if _, ok := fastDecodeFrame(dup); ok {
		t.Fatal("fast decoder accepted a duplicate key")
	}
}

// FuzzFastDecodeFrame: whatever the fast decoder accepts, the reflecting
// decoder decodes to the same inFrame.
func FuzzFastDecodeFrame(f *testing.F) {
	raw, _ := marshal(formatMsgpack, benchFrame())
	f.Add(raw)
	for _, s := range []map[string]any{
		{"action": 15, "channel": nil, "msgSerial": -3, "flags": 1 << 40, "messages": []any{}},
		{"action": 15, "id": "x", "channelSerial": "s", "messages": nil, "other": []any{1, "two", map[string]any{}}},
		{"action": 15, "channel": "c", "messages": []any{map[string]any{"id": nil, "data": []byte{1}, "extras": nil, "connectionKey": "k", "clientId": "c", "connectionId": "i", "unknown": 1.5}}},
		{"action": 15, "channel": "c", "messages": []any{map[string]any{"extras": map[string]any{"headers": map[string]any{}, "ref": map[string]any{"type": "x"}}}}},
	} {
		b, _ := msgpack.Marshal(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkMsgpack(b) != nil {
			return
		}
		sameAsReflecting(t, b)
	})
}
