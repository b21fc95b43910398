package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// The realtime publisher spreads channels over several connections; these
// tests run it against the local endpoint with an unmodified ably-go
// subscriber.

// startPublisher starts a realtime Publisher with conns connections to s
// and waits until all of them are connected (the aggregate state says so).
func startPublisher(t *testing.T, s *ablylocal.Server, key string, conns int) *Publisher {
	t.Helper()
	states := make(chan string, 256)
	p, err := NewPublisher(PublisherOptions{ClientOptions: ablylocal.ClientOptions(s.Addr(), key), Connections: conns,
		OnState: func(state string, _ error) {
			select {
			case states <- state:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	awaitState(t, states, "CONNECTED")
	for i, rt := range p.clients() {
		if st := rt.Connection.State(); st != ably.ConnectionStateConnected {
			t.Fatalf("aggregate state CONNECTED while connection %d is %s", i, st)
		}
	}
	return p
}

func awaitState(t *testing.T, states <-chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-states:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("aggregate state never became %s", want)
		}
	}
}

// subscriber records what arrived per channel.
type subscriber struct {
	mu      sync.Mutex
	got     map[string]*received
	arrived chan struct{} // signalled (buffered 1) after each message
}

// received is what a subscriber saw on one channel.
type received struct {
	ids   []string
	conns map[string]bool // connectionId of each message
}

// subscribe attaches an ably-go subscriber to channels and records what
// arrives on each.
func subscribe(t *testing.T, s *ablylocal.Server, key string, channels []string) *subscriber {
	t.Helper()
	rt, err := ably.NewRealtime(ablylocal.ClientOptions(s.Addr(), key)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		t.Fatal(err)
	}
	sub := &subscriber{got: map[string]*received{}, arrived: make(chan struct{}, 1)}
	for _, ch := range channels {
		r := &received{conns: map[string]bool{}}
		sub.got[ch] = r
		if _, err := rt.Channels.Get(ch).SubscribeAll(ctx, func(m *ably.Message) {
			sub.mu.Lock()
			r.ids = append(r.ids, m.ID)
			r.conns[m.ConnectionID] = true
			sub.mu.Unlock()
			select {
			case sub.arrived <- struct{}{}:
			default:
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	return sub
}

// publishInOrder publishes n messages on every channel, one unacknowledged
// message per channel at a time (as a node does), all channels at once.
func publishInOrder(t *testing.T, p *Publisher, channels []string, n int) {
	t.Helper()
	errs := make(chan error, len(channels))
	for _, ch := range channels {
		go func() {
			for i := range n {
				ack := make(chan error, 1)
				p.Publish(context.Background(), ch, &ably.Message{ID: ch + ":" + strconv.Itoa(i), Name: "n", Data: i},
					func(err error) { ack <- err })
				if err := <-ack; err != nil {
					errs <- fmt.Errorf("%s message %d: %w", ch, i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range channels {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// await waits until every channel has n messages.
func (sub *subscriber) await(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		sub.mu.Lock()
		done := true
		for _, r := range sub.got {
			done = done && len(r.ids) >= n
		}
		sub.mu.Unlock()
		if done {
			return
		}
		select {
		case <-sub.arrived:
		case <-deadline:
			t.Fatal("not every message arrived")
		}
	}
}

// TestPublisherSpreadsChannelsOverConnections: with 4 connections, the
// channels' messages arrive from 4 different connections (as many as the
// channels hash to), every message of a channel from the same one, and in
// the order published.
func TestPublisherSpreadsChannelsOverConnections(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{})
	p := startPublisher(t, s, k.String(), 4)
	var channels []string
	buckets := map[int][]string{}
	for i := range 24 {
		ch := "spread-" + strconv.Itoa(i)
		channels = append(channels, ch)
		buckets[p.connIndex(ch)] = append(buckets[p.connIndex(ch)], ch)
	}
	if len(buckets) != 4 {
		t.Fatalf("24 channels hash to %d of 4 connections", len(buckets))
	}
	sub := subscribe(t, s, k.String(), channels)
	const n = 30
	publishInOrder(t, p, channels, n)
	sub.await(t, n)

	sub.mu.Lock()
	defer sub.mu.Unlock()
	connOf := map[int]string{} // connection index → connectionId seen
	for _, ch := range channels {
		r := sub.got[ch]
		for i, id := range r.ids {
			if want := ch + ":" + strconv.Itoa(i); id != want {
				t.Fatalf("%s: message %d is %s, want %s (order lost)", ch, i, id, want)
			}
		}
		if len(r.conns) != 1 {
			t.Fatalf("%s: messages arrived from %d connections, want 1: %v", ch, len(r.conns), r.conns)
		}
		var cid string
		for c := range r.conns {
			cid = c
		}
		i := p.connIndex(ch)
		if prev, ok := connOf[i]; ok && prev != cid {
			t.Errorf("connection %d: channels arrived from both %s and %s", i, prev, cid)
		}
		connOf[i] = cid
	}
	distinct := map[string]bool{}
	for _, cid := range connOf {
		distinct[cid] = true
	}
	if len(distinct) != 4 {
		t.Errorf("messages came from %d distinct connections, want 4: %v", len(distinct), connOf)
	}
}

// TestPublisherResetDropsEveryOlderConnection: Reset(t) replaces every
// connection opened before t (a timed-out publish's messages can then never
// be re-sent on any of them) and none opened after.
func TestPublisherResetDropsEveryOlderConnection(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{})
	p := startPublisher(t, s, k.String(), 3)
	before := p.clients()
	p.Reset(time.Now().Add(-time.Hour)) // older than every connection: nothing to drop
	for i, rt := range p.clients() {
		if rt != before[i] {
			t.Fatalf("Reset before the connections were opened replaced connection %d", i)
		}
	}
	closed := make(chan int, len(before))
	for i, rt := range before {
		rt.Connection.Once(ably.ConnectionEventClosed, func(ably.ConnectionStateChange) { closed <- i })
	}
	sent := time.Now() // a publish's start, older than every connection
	p.Reset(sent)
	after := p.clients()
	for i, rt := range after {
		if rt == before[i] {
			t.Fatalf("connection %d opened before Reset's time was kept", i)
		}
	}
	deadline := time.After(10 * time.Second)
	for range before {
		select {
		case <-closed:
		case <-deadline:
			t.Fatal("a replaced connection was not closed")
		}
	}
	p.Reset(sent) // another publish of the same stall times out: its connections are already new
	for i, rt := range p.clients() {
		if rt != after[i] {
			t.Fatalf("connection %d, opened after the publish started, was reset again", i)
		}
	}
}

// TestPublisherAggregateState: the state reported for several connections
// is the worst of them with that connection's reason.
func TestPublisherAggregateState(t *testing.T) {
	reason := errors.New("endpoint refused")
	mk := func(states ...ably.ConnectionState) *Publisher {
		p := &Publisher{}
		for i, s := range states {
			st := &connStatus{state: s}
			if i == 1 {
				st.reason = reason
			}
			p.conns = append(p.conns, &pubConn{status: st})
		}
		return p
	}
	for _, c := range []struct {
		states []ably.ConnectionState
		want   ably.ConnectionState
		reason error
	}{
		{[]ably.ConnectionState{ably.ConnectionStateConnected, ably.ConnectionStateConnected}, ably.ConnectionStateConnected, reason},
		{[]ably.ConnectionState{ably.ConnectionStateConnected, ably.ConnectionStateDisconnected, ably.ConnectionStateConnecting}, ably.ConnectionStateDisconnected, reason},
		{[]ably.ConnectionState{ably.ConnectionStateFailed, ably.ConnectionStateSuspended}, ably.ConnectionStateFailed, nil},
		{[]ably.ConnectionState{ably.ConnectionStateConnecting, ably.ConnectionStateConnected}, ably.ConnectionStateConnecting, nil},
	} {
		got := mk(c.states...).worstLocked()
		if got.state != c.want || got.reason != c.reason {
			t.Errorf("%v: aggregate %s (%v), want %s (%v)", c.states, got.state, got.reason, c.want, c.reason)
		}
	}
}

// TestPacedConnectionsStayWithinAblyLimits: against an endpoint enforcing
// Ably's limits (50 msg/s per channel, 42913, and per connection, 42911),
// a paced publisher with 2 connections sends more than one connection's
// budget without a single rate-limit rejection, each channel in order.
func TestPacedConnectionsStayWithinAblyLimits(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{Limits: "ably"})
	states := make(chan string, 256)
	p, err := NewPublisher(PublisherOptions{ClientOptions: ablylocal.ClientOptions(s.Addr(), k.String()), Connections: 2,
		Pace: true, OnState: func(state string, _ error) {
			select {
			case states <- state:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	awaitState(t, states, "CONNECTED")
	var channels []string
	per := map[int]int{}
	for i := 0; len(per) < 2 || per[0] < 2 || per[1] < 2; i++ {
		ch := "paced-" + strconv.Itoa(i)
		channels = append(channels, ch)
		per[p.connIndex(ch)]++
	}
	sub := subscribe(t, s, k.String(), channels)
	n := 52/min(per[0], per[1]) + 1 // over 50 on each connection: more than a second's budget
	publishInOrder(t, p, channels, n)
	sub.await(t, n)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, ch := range channels {
		for i, id := range sub.got[ch].ids {
			if want := ch + ":" + strconv.Itoa(i); id != want {
				t.Fatalf("%s: message %d is %s, want %s", ch, i, id, want)
			}
		}
	}
}

// TestPublisherChannelSendable: a channel can send while the connection
// it is hashed to is up, and not once that connection is closed, whatever
// the other connections' state.
func TestPublisherChannelSendable(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{})
	p := startPublisher(t, s, k.String(), 2)
	a, b := "send:a", ""
	for i := 0; b == ""; i++ {
		if c := fmt.Sprint("send:", i); p.connIndex(c) != p.connIndex(a) {
			b = c
		}
	}
	if !p.ChannelSendable(a) || !p.ChannelSendable(b) {
		t.Fatal("channels on connected connections are not sendable")
	}
	rt := p.clients()[p.connIndex(a)]
	closed := make(chan struct{})
	off := rt.Connection.Once(ably.ConnectionEventClosed, func(ably.ConnectionStateChange) { close(closed) })
	defer off()
	rt.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close")
	}
	if p.ChannelSendable(a) {
		t.Error("a channel whose connection is closed reads as sendable")
	}
	if !p.ChannelSendable(b) {
		t.Error("a channel on the other, connected connection reads as not sendable")
	}
}

// TestPublisherAwaitConnected: AwaitConnected returns once every
// connection is CONNECTED, even when they all come up between its check and
// its wait (bench's publish ceiling once took its wake-up after the check,
// missed the last connection's arrival and timed out with every connection
// up), and returns ctx's error when they cannot come up.
func TestPublisherAwaitConnected(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{})
	const conns = 3
	gaps := 0
	for round := 0; round < 10; round++ {
		p, err := NewPublisher(PublisherOptions{ClientOptions: ablylocal.ClientOptions(s.Addr(), k.String()), Connections: conns})
		if err != nil {
			t.Fatal(err)
		}
		// In the gap after a check that found a connection down, let every
		// connection come up and signal it.
		p.onGap = func() {
			gaps++
			for {
				p.upMu.Lock()
				n, up := p.upsN, p.upCh
				p.upMu.Unlock()
				if n >= conns {
					return
				}
				select {
				case <-up:
				case <-time.After(10 * time.Second):
					t.Errorf("round %d: %d of %d connections signalled they came up", round, n, conns)
					return
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = p.AwaitConnected(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: %v with state %s (every connection came up in the gap before the wait)", round, err, p.ConnState())
		}
		for i, rt := range p.clients() {
			if st := rt.Connection.State(); st != ably.ConnectionStateConnected {
				t.Fatalf("round %d: AwaitConnected returned while connection %d is %s", round, i, st)
			}
		}
		p.Close()
	}
	if gaps == 0 {
		t.Fatal("every connection was up before AwaitConnected first checked: the gap was never exercised")
	}

	// Nothing listens at the address: the wait ends with ctx.
	dead, err := NewPublisher(PublisherOptions{ClientOptions: ablylocal.ClientOptions(closedAddr(t), k.String()), Connections: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := dead.AwaitConnected(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitConnected with no endpoint = %v, want context.DeadlineExceeded", err)
	}
}

// closedAddr is a 127.0.0.1 address nothing listens on (a port just
// released).
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
