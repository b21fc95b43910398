package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestPublishMapsEveryField checks what a real ably-go subscriber receives
// for objects, arrays, scalars, NULL data, user headers, a header the
// connector overrides, and a rejected row; and that one tombstone remains.
func TestPublishMapsEveryField(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "map")
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, rejected, data, headers) VALUES
 ('m1', 'map', 'obj', false, '{"a":1,"b":[true,null]}', '{"x-trace":"t1","n":5}'),
 ('m2', 'map', 'arr', false, '[1,"two"]', NULL),
 ('m3', 'map', 'str', false, '"hello"', NULL),
 ('m4', 'map', 'num', false, '42.5', NULL),
 ('m5', 'map', 'nul', false, NULL, NULL),
 ('m6', 'map', 'rej', true, '{"why":"no"}', '{"x-ably-models-event-uuid":"spoof"}'),
 ('m7', 'map', 'jsonnull', false, 'null', NULL)`)
	startNode(t, e.options())
	s.waitCount(t, 7, 20*time.Second)
	s.checkOrder(t)

	want := []struct {
		name, data string // data "" = no data
		headers    map[string]any
	}{
		{"obj", `{"a": 1, "b": [true, null]}`, map[string]any{"x-trace": "t1", "n": 5.0, connector.HeaderEventUUID: "m1"}},
		{"arr", `[1, "two"]`, map[string]any{connector.HeaderEventUUID: "m2"}},
		{"str", `"hello"`, map[string]any{connector.HeaderEventUUID: "m3"}},
		{"num", `42.5`, map[string]any{connector.HeaderEventUUID: "m4"}},
		{"nul", ``, map[string]any{connector.HeaderEventUUID: "m5"}},
		{"rej", `{"why": "no"}`, map[string]any{connector.HeaderEventUUID: "m6", connector.HeaderReject: "true"}},
		{"jsonnull", `null`, map[string]any{connector.HeaderEventUUID: "m7"}},
	}
	s.mu.Lock()
	msgs := s.msgs["map"]
	s.mu.Unlock()
	for i, w := range want {
		m := msgs[i]
		if m.ID != itoa(int64(i+1)) || m.Name != w.name {
			t.Errorf("message %d: id %q name %q, want %d %q", i, m.ID, m.Name, i+1, w.name)
		}
		if w.data == "" {
			if m.Data != nil || m.Encoding != "" {
				t.Errorf("%s: data %v encoding %q, want none", w.name, m.Data, m.Encoding)
			}
		} else {
			// ably-go realtime subscribers leave encoding json undecoded: decode as apps do.
			str, _ := m.Data.(string)
			if m.Encoding != "json" || str != w.data {
				t.Errorf("%s: data %#v encoding %q, want %q json", w.name, m.Data, m.Encoding, w.data)
			}
			var v any
			if err := json.Unmarshal([]byte(str), &v); err != nil {
				t.Errorf("%s: data does not decode: %v", w.name, err)
			}
		}
		h, _ := m.Extras["headers"].(map[string]any)
		if !sameJSON(h, w.headers) {
			t.Errorf("%s: headers %v, want %v", w.name, h, w.headers)
		}
	}
	// row 7 reaches the subscriber before its ACK reaches the node, so
	// rows 1-6 can be gone while row 7 still waits for its completion
	waitFor(t, 10*time.Second, "one tombstone row", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox") == 1 && e.count(t, "SELECT count(*) FROM outbox WHERE processed") == 1
	})
	if got := e.count(t, "SELECT sequence_id FROM outbox WHERE processed"); got != 7 {
		t.Errorf("tombstone is row %d, want 7", got)
	}
}

// TestMessageMapping is the mapping without the network.
func TestMessageMapping(t *testing.T) {
	m, warns := connector.Message(connector.Row{SequenceID: 12, MutationID: "u", Channel: "c", Name: "n",
		Data: []byte(`[1]`), Headers: []byte(`{"x-ably-models-reject":"true","k":"v"}`)})
	if m.ID != "12" || m.Name != "n" || m.Data != "[1]" || m.Encoding != "json" {
		t.Fatalf("message %+v", m)
	}
	h := m.Extras["headers"].(map[string]any)
	if _, ok := h[connector.HeaderReject]; ok || h["k"] != "v" || h[connector.HeaderEventUUID] != "u" {
		t.Errorf("headers %v", h)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], connector.HeaderReject) {
		t.Errorf("warnings %v", warns)
	}
	if _, warns := connector.Message(connector.Row{SequenceID: 1, Headers: []byte(`[1]`)}); len(warns) != 1 {
		t.Errorf("non-object headers: warnings %v", warns)
	}
}

func itoa(i int64) string { b, _ := json.Marshal(i); return string(b) }

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

var _ = context.Background

// TestRESTBatchModeMapsAndOrders: publishMode rest-batch delivers the same
// messages (id, name, json data, headers) in order, and a 70 KiB row
// blocks its channel with 40009.
func TestRESTBatchModeMapsAndOrders(t *testing.T) {
	e := newEnv(t)
	chans := channelNames("r", 5)
	s := e.subscribe(t, append(chans, "rbig")...)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	opts := e.options()
	opts.PublishMode = PublishRESTBatch
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data, headers, rejected) VALUES ('m0', 'r0', 'first', '{"a":[1]}', '{"k":"v"}', true)`)
	e.insertSpread(t, "r", 199, 5)
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('huge', 'rbig', 'n', to_jsonb(repeat('x', 70*1024)))`)
	startNode(t, opts)
	s.waitCount(t, 200, 30*time.Second)
	s.checkOrder(t)
	s.mu.Lock()
	m := s.msgs["r0"][0]
	s.mu.Unlock()
	h, _ := m.Extras["headers"].(map[string]any)
	if m.ID != "1" || m.Name != "first" || m.Data != `{"a": [1]}` || m.Encoding != "json" ||
		!sameJSON(h, map[string]any{"k": "v", connector.HeaderEventUUID: "m0", connector.HeaderReject: "true"}) {
		t.Errorf("first message %+v headers %v", m, h)
	}
	ev := waitEvent(t, events, 20*time.Second, "rbig blocked", func(ev connector.Event) bool { return ev.Kind == connector.EventBlocked })
	if ev.Code != 40009 || ev.Channel != "rbig" {
		t.Errorf("blocked event %+v", ev)
	}
}
