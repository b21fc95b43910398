package ablylocal

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/monitor"
)

// TestEndpointAppliesAblyChannelAndHeaderRules: names Ably accepts (a
// leading space or comma) publish; extras.headers with a nested value is
// refused with 40032 over REST and realtime, as Ably does (issue 12).
func TestEndpointAppliesAblyChannelAndHeaderRules(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		rest := newREST(t, clientOpts(s, binary)...)
		rt, _ := newRealtime(t, clientOpts(s, binary)...)
		for _, name := range []string{" leading-space", ",comma", strings.Repeat("x", 3000)} {
			if err := rest.Channels.Get(name).Publish(ctxT(t), "n", "d"); err != nil {
				t.Errorf("REST publish to %.40q (Ably accepts it): %.200v", name, err)
			}
			if err := rt.Channels.Get(name).Attach(ctxT(t)); err != nil {
				t.Errorf("attach %.40q (Ably accepts it): %.200v", name, err)
			}
		}
		nested := &ably.Message{Name: "n", Data: "d", Extras: map[string]any{"headers": map[string]any{"a": map[string]any{"b": 1}}}}
		if err := rest.Channels.Get("h").PublishMultiple(ctxT(t), []*ably.Message{nested}); errCode(err) != 40032 {
			t.Errorf("REST publish with nested header: %v, want 40032", err)
		}
		if err := rt.Channels.Get("h").PublishMultiple(ctxT(t), []*ably.Message{nested}); errCode(err) != 40032 {
			t.Errorf("realtime publish with nested header: %v, want 40032", err)
		}
		flat := &ably.Message{Name: "n", Data: "d", Extras: map[string]any{"headers": map[string]any{"a": "x", "b": 1, "c": true, "d": nil}}}
		if err := rt.Channels.Get("h").PublishMultiple(ctxT(t), []*ably.Message{flat}); err != nil {
			t.Errorf("realtime publish with flat scalar headers: %v", err)
		}
	})
}

// FuzzInsertAgreesWithEndpoint: whatever `insert` accepts (channel and
// headers) the endpoint publishes, and whatever the endpoint refuses
// `insert` refuses, so a row written by insert never blocks its channel.
func FuzzInsertAgreesWithEndpoint(f *testing.F) {
	for _, c := range [][2]string{{"orders", `{"a":"b"}`}, {"[x]y", `{}`}, {":a", `{"a":{"b":1}}`}, {" a", `{"a":[1],"b":2}`}, {"a\nb", `{"n":null,"t":true,"f":1.5}`}} {
		f.Add(c[0], []byte(c[1]))
	}
	f.Fuzz(func(t *testing.T, channel string, headers []byte) {
		var obj map[string]any
		if json.Unmarshal(headers, &obj) != nil || obj == nil {
			headers = []byte(`{}`) // insert refuses non-objects; the connector never sends them
		}
		insertErr := monitor.OutboxInsertParams{Channel: channel, Name: "n", Headers: headers, Count: 1}.Validate()
		var in inMessage
		if err := json.Unmarshal([]byte(`{"name":"n","extras":{"headers":`+string(headers)+`}}`), &in); err != nil {
			t.Skip() // not representable as a message (e.g. too deep)
		}
		_, pubErr := (&Server{}).prepareMessages([]inMessage{in}, "", false, "c", "c:0")
		chErr := validateChannelName(channel)
		endpointOK := pubErr == nil && chErr == nil
		if (insertErr == nil) != endpointOK {
			t.Fatalf("channel %q headers %s: insert says %v, endpoint says channel=%v publish=%v", channel, headers, insertErr, chErr, pubErr)
		}
		if chErr != nil && !strings.Contains(chErr.Message, "channel name") {
			t.Fatalf("40010 message does not name the channel rule: %s", chErr.Message)
		}
	})
}
