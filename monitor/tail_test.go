package monitor_test

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// localAbly starts a local endpoint and returns ably-go options for it.
func localAbly(t *testing.T) []ably.ClientOption {
	opts, _ := localAblyEndpoint(t)
	return opts
}

// localAblyEndpoint starts a local endpoint and returns ably-go options and
// the REST endpoint for it.
func localAblyEndpoint(t *testing.T) ([]ably.ClientOption, monitor.Endpoint) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := ablylocal.Start(ctx, ablylocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); cancel() })
	host, port, _ := net.SplitHostPort(srv.Addr())
	p, _ := strconv.Atoi(port)
	key := srv.Keys()[0].String()
	return ablylocal.ClientOptions(srv.Addr(), key), monitor.Endpoint{Host: host, Port: p, Key: key}
}

// publish publishes one message with an id, JSON data and headers over REST.
func publish(t *testing.T, opts []ably.ClientOption, channel, id string, data any) {
	t.Helper()
	rest, err := ably.NewREST(opts...)
	if err != nil {
		t.Fatal(err)
	}
	msg := &ably.Message{ID: id, Name: "ev", Data: data, Extras: map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m-" + id}}}
	if err := rest.Channels.Get(channel).PublishMultiple(context.Background(), []*ably.Message{msg}); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next message or fails after a generous deadline.
func next(t *testing.T, tail *monitor.Tail) monitor.TailMessage {
	t.Helper()
	select {
	case m := <-tail.Messages():
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message arrived")
	}
	return monitor.TailMessage{}
}

func TestTailDecodesAndRewindsNewChannels(t *testing.T) {
	opts := localAbly(t)
	ctx := context.Background()
	attached := make(chan string, 4)
	tail, err := monitor.StartTail(ctx, monitor.TailOptions{ClientOptions: opts, Channels: []string{"live"},
		OnAttached: func(ch string) { attached <- ch }})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	if ch := <-attached; ch != "live" {
		t.Fatalf("attached %q", ch)
	}
	publish(t, opts, "live", "7", map[string]any{"n": 7, "big": json.Number("12345678901234567890")})
	m := next(t, tail)
	if m.Channel != "live" || m.ID != "7" || m.Name != "ev" || m.Timestamp == 0 || m.Headers["x-ably-models-event-uuid"] != "m-7" {
		t.Fatalf("message %+v", m)
	}
	raw, ok := m.Data.(json.RawMessage)
	if !ok {
		t.Fatalf("data %T %v; want decoded JSON", m.Data, m.Data)
	}
	var v map[string]json.Number
	if err := json.Unmarshal(raw, &v); err != nil || v["n"] != "7" || v["big"] != "12345678901234567890" {
		t.Fatalf("data %s (%v)", raw, err)
	}
	// A channel seen later is attached with rewind: a message published
	// before it was added still arrives.
	publish(t, opts, "seen-later", "8", "text payload")
	if err := tail.Add(ctx, "seen-later"); err != nil {
		t.Fatal(err)
	}
	m = next(t, tail)
	if m.Channel != "seen-later" || m.ID != "8" || m.Data != "text payload" {
		t.Fatalf("rewound message %+v", m)
	}
	if got := tail.Channels(); len(got) != 2 {
		t.Fatalf("channels %v", got)
	}
}

func TestTailSpreadsChannelsOverConnections(t *testing.T) {
	opts, ep := localAblyEndpoint(t)
	ctx := context.Background()
	tail, err := monitor.StartTail(ctx, monitor.TailOptions{ClientOptions: opts, Channels: []string{"a", "b", "c"}, MaxPerConnection: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	if n := tail.Connections(); n != 2 {
		t.Fatalf("%d connections for 3 channels at 2 per connection; want 2", n)
	}
	occ, err := monitor.ChannelOccupancy(ctx, ep, "c")
	if err != nil || occ.Subscribers != 1 || !occ.IsActive {
		t.Fatalf("occupancy %+v (%v); want 1 subscriber", occ, err)
	}
	if occ, err = monitor.ChannelOccupancy(ctx, ep, "nobody"); err != nil || occ.Subscribers != 0 {
		t.Fatalf("occupancy of an unused channel %+v (%v)", occ, err)
	}
	publish(t, opts, "c", "1", []any{1, 2})
	if m := next(t, tail); m.Channel != "c" || string(m.Data.(json.RawMessage)) != "[1,2]" {
		t.Fatalf("message %+v", m)
	}
}
