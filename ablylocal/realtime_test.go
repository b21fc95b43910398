package ablylocal

import (
	"testing"

	"github.com/ably/ably-go/ably"
)

// TestConnectAttachPublishDeliver covers CONNECTED with connectionDetails,
// ATTACH/ATTACHED with modes, publish, ACK and delivery fields (MUST 3,6,7,9).
func TestConnectAttachPublishDeliver(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		pub, _ := newRealtime(t, clientOpts(s, binary, ably.WithClientID("alice"))...)
		sub, _ := newRealtime(t, clientOpts(s, binary)...)
		if id := pub.Connection.ID(); id == "" || pub.Connection.Key() == "" {
			t.Fatalf("missing connection id/key: %q %q", id, pub.Connection.Key())
		}
		name := uniq(t, "chat")
		msgs := subscribe(t, sub, name)
		if modes := sub.Channels.Get(name).Modes(); len(modes) != 4 {
			t.Fatalf("ATTACHED modes = %v, want the 4 default modes", modes)
		}
		extras := map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "u1"}}
		err := pub.Channels.Get(name).PublishMultiple(ctxT(t), []*ably.Message{{Name: "greet", Data: "hello", Extras: extras}})
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		m := next(t, msgs)
		if m.Name != "greet" || m.Data != "hello" || m.ClientID != "alice" || m.ConnectionID != pub.Connection.ID() || m.Timestamp == 0 {
			t.Fatalf("delivered %+v", m)
		}
		if m.ID != pub.Connection.ID()+":0:0" {
			t.Fatalf("message id = %q, want %q", m.ID, pub.Connection.ID()+":0:0")
		}
		h, _ := m.Extras["headers"].(map[string]any)
		if h["x-ably-models-event-uuid"] != "u1" {
			t.Fatalf("extras = %#v", m.Extras)
		}
	})
}
