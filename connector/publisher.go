package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// RealAblyRate is Ably's default publish limit per channel and per realtime
// connection, in messages per second; the publisher paces itself to it
// against real Ably (not against the local endpoint).
const RealAblyRate = 50

// PublisherOptions configures a Publisher.
type PublisherOptions struct {
	// ClientOptions point ably-go at the endpoint (key, host, port, TLS).
	ClientOptions []ably.ClientOption
	// Connections is how many realtime connections publishes are spread
	// over: each channel is hashed to one of them and always uses it, so a
	// channel's messages keep their order. 0 means 1. Unused in REST batch
	// mode.
	Connections int
	// Pace limits publishing to RealAblyRate per channel and per connection
	// (set it for real Ably).
	Pace bool
	// RESTBatch publishes with REST batch publish (POST /messages, up to 100
	// channels per request, one message per BatchSpec) instead of realtime.
	RESTBatch bool
	// Logger receives ably-go's warnings and errors, with keys and tokens
	// redacted (nil discards them).
	Logger *slog.Logger
	// OnState, when set, is called on every change of the connections'
	// aggregate state (the worst of them: see ConnState) with that state and
	// the reason the connection in it gave (nil when none). It must not
	// block.
	OnState func(state string, reason error)
}

// Publisher sends one message per ProtocolMessage over its ably-go realtime
// connections (a channel always over the same one) and reports each ACK or
// NACK. Publishes are not queued by ably-go while disconnected: they fail
// at once and the caller retries, so nothing is sent after the caller
// stopped owning the row.
type Publisher struct {
	opts  PublisherOptions
	pacer *pacer

	mu       sync.Mutex
	conns    []*pubConn   // realtime mode: the connections, by index
	reported connStatus   // the aggregate state last given to OnState
	batch    *restBatcher // REST batch mode instead of conns
	sends    *handoff     // realtime mode: goroutines that hand messages to ably-go

	upMu  sync.Mutex
	upCh  chan struct{} // closed when a connection next becomes CONNECTED
	upsN  int64         // how many times upCh was closed
	onGap func()        // tests: awaitUp calls it between a failed check and its wait
}

// pubConn is one of the publisher's realtime connections: the client
// currently in its slot (replaced on Reset or a wedged send). Its fields
// are guarded by Publisher.mu.
type pubConn struct {
	rt     *ably.Realtime
	dialed time.Time   // when rt was created
	status *connStatus // rt's state as its callbacks report it
}

// connStatus is one connection's state and the reason it gave.
type connStatus struct {
	state  ably.ConnectionState
	reason error
}

// sendTimeout bounds how long handing a message to ably-go may take. ably-go
// v1.3.0 writes to the WebSocket without a deadline, and a write that fails
// while the endpoint goes away can block forever holding the connection's
// lock (nhooyr.io/websocket v1.8.7); such a client is replaced.
const sendTimeout = 5 * time.Second

// sendGoroutines is how many idle send goroutines a publisher keeps: about
// one per channel with a publish in flight is reused.
const sendGoroutines = 256

// errSendStuck reports a publish whose hand-over to ably-go never returned.
var errSendStuck = errors.New("ably-go send blocked; the realtime connection was replaced")

// NewPublisher connects (asynchronously) to the endpoint.
func NewPublisher(opts PublisherOptions) (*Publisher, error) {
	if opts.Connections <= 0 || opts.RESTBatch {
		opts.Connections = 1
	}
	p := &Publisher{opts: opts, upCh: make(chan struct{})}
	if opts.Pace {
		p.pacer = newPacer(RealAblyRate, opts.Connections)
	}
	if opts.RESTBatch {
		b, err := newRESTBatcher(append(ablylog.ClientOptions(opts.Logger), opts.ClientOptions...))
		if err != nil {
			return nil, err
		}
		p.batch = b
		return p, nil
	}
	p.sends = newHandoff(sendGoroutines)
	p.mu.Lock()
	defer p.mu.Unlock()
	for range opts.Connections {
		pc := &pubConn{}
		if err := p.openLocked(pc); err != nil {
			for _, c := range p.conns {
				go c.rt.Close()
			}
			return nil, err
		}
		p.conns = append(p.conns, pc)
	}
	return p, nil
}

func (p *Publisher) dial() (*ably.Realtime, error) {
	co := append([]ably.ClientOption{
		ably.WithQueueMessages(false),
		ably.WithEchoMessages(false),
	}, append(ablylog.ClientOptions(p.opts.Logger), p.opts.ClientOptions...)...)
	rt, err := ably.NewRealtime(co...)
	if err != nil {
		return nil, fmt.Errorf("ably client: %w", err)
	}
	return rt, nil
}

// openLocked dials a new client into pc's slot and watches its state.
func (p *Publisher) openLocked(pc *pubConn) error {
	rt, err := p.dial()
	if err != nil {
		return err
	}
	st := &connStatus{state: ably.ConnectionStateInitialized}
	rt.Connection.On(ably.ConnectionEventConnected, func(ably.ConnectionStateChange) { p.signalUp() })
	if p.opts.OnState != nil {
		rt.Connection.OnAll(func(c ably.ConnectionStateChange) {
			var reason error
			if c.Reason != nil {
				reason = c.Reason
			}
			p.onConnState(st, c.Current, reason)
		})
	}
	if live := rt.Connection.State(); live != ably.ConnectionStateInitialized {
		st.state = live // a change before the callback was attached
	}
	pc.rt, pc.dialed, pc.status = rt, time.Now(), st
	return nil
}

// signalUp wakes everyone waiting for a connection to come back.
func (p *Publisher) signalUp() {
	p.upMu.Lock()
	defer p.upMu.Unlock()
	close(p.upCh)
	p.upCh = make(chan struct{})
	p.upsN++
}

// AwaitConnected waits until every realtime connection is up (at once in
// REST batch mode), or ctx ends.
func (p *Publisher) AwaitConnected(ctx context.Context) error {
	if p.batch != nil {
		return nil
	}
	return p.awaitUp(ctx, p.Connected)
}

// AwaitChannelSendable waits until ChannelSendable(channel), or ctx ends.
func (p *Publisher) AwaitChannelSendable(ctx context.Context, channel string) error {
	return p.awaitUp(ctx, func() bool { return p.ChannelSendable(channel) })
}

// awaitUp waits until ready() holds, checking again each time a connection
// comes up. The wake-up channel is taken before each check, so a
// connection coming up between the check and the wait still wakes it.
func (p *Publisher) awaitUp(ctx context.Context, ready func() bool) error {
	for {
		up := p.Reconnected()
		if ready() {
			return nil
		}
		if p.onGap != nil {
			p.onGap()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-up:
		}
	}
}

// Reconnected returns a channel that is closed the next time one of the
// realtime connections becomes CONNECTED (after an outage, or a replaced
// client). A row whose publish failed because the endpoint was away waits
// on it as well as on its backoff, so it goes out as soon as the endpoint
// is back rather than when a backoff grown during a long outage ends. In
// REST batch mode it is never closed.
func (p *Publisher) Reconnected() <-chan struct{} {
	p.upMu.Lock()
	defer p.upMu.Unlock()
	return p.upCh
}

// onConnState records one client's state change and reports the aggregate
// when it changed. A replaced client's changes are recorded in its own,
// no longer counted, status and so change nothing.
func (p *Publisher) onConnState(st *connStatus, state ably.ConnectionState, reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st.state, st.reason = state, reason
	agg := p.worstLocked()
	if agg == p.reported {
		return
	}
	p.reported = agg
	p.opts.OnState(agg.state.String(), agg.reason)
}

// worstLocked is the worst of the current connections' recorded states and
// the first reason given by a connection in it.
func (p *Publisher) worstLocked() connStatus {
	var w connStatus
	for i, pc := range p.conns {
		s := *pc.status
		if i == 0 || stateRank(s.state) > stateRank(w.state) || (s.state == w.state && w.reason == nil) {
			w = s
		}
	}
	return w
}

// stateRank orders connection states from best (connected) to worst
// (failed): the aggregate of several connections is the worst one.
func stateRank(s ably.ConnectionState) int {
	switch s {
	case ably.ConnectionStateConnected:
		return 0
	case ably.ConnectionStateInitialized:
		return 1
	case ably.ConnectionStateConnecting:
		return 2
	case ably.ConnectionStateClosing:
		return 3
	case ably.ConnectionStateClosed:
		return 4
	case ably.ConnectionStateDisconnected:
		return 5
	case ably.ConnectionStateSuspended:
		return 6
	case ably.ConnectionStateFailed:
		return 7
	}
	return 1
}

// connIndex is the connection channel always publishes over.
func (p *Publisher) connIndex(channel string) int {
	if len(p.conns) <= 1 {
		return 0
	}
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(channel); i++ {
		h = (h ^ uint32(channel[i])) * 16777619
	}
	return int(h % uint32(len(p.conns)))
}

// clients returns the current clients, by connection index.
func (p *Publisher) clients() []*ably.Realtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*ably.Realtime, len(p.conns))
	for i, pc := range p.conns {
		out[i] = pc.rt
	}
	return out
}

// replace abandons a wedged client of connection i for a new one.
func (p *Publisher) replace(i int, old *ably.Realtime) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[i].rt == old {
		p.replaceLocked(p.conns[i])
	}
}

func (p *Publisher) replaceLocked(pc *pubConn) {
	old := pc.rt
	if err := p.openLocked(pc); err != nil {
		return
	}
	go old.Close() // may block forever on the wedged lock; never waited for
	if p.opts.OnState != nil {
		if agg := p.worstLocked(); agg != p.reported {
			p.reported = agg
			p.opts.OnState(agg.state.String(), agg.reason)
		}
	}
}

// Reset drops every realtime connection opened before sent (the start of
// a publish that outlived its row's lock) and opens new ones. ably-go keeps
// unacknowledged messages and sends them again when its transport comes
// back; after Reset they can never be sent (their callbacks report an
// error), on any connection. So a node that stalled and woke cannot re-send
// rows another node has taken over. Connections opened after sent are
// kept, so several publishes timing out together reset each connection
// once.
func (p *Publisher) Reset(sent time.Time) {
	if p.batch != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		if pc.dialed.Before(sent) {
			p.replaceLocked(pc)
		}
	}
}

// Connections is how many realtime connections the publisher spreads its
// channels over (1 in REST batch mode).
func (p *Publisher) Connections() int { return p.opts.Connections }

// liveWorst is the worst live state of the current connections.
func (p *Publisher) liveWorst() ably.ConnectionState {
	var w ably.ConnectionState
	for i, rt := range p.clients() {
		if s := rt.Connection.State(); i == 0 || stateRank(s) > stateRank(w) {
			w = s
		}
	}
	return w
}

// Connected reports whether every realtime connection is up (a channel
// whose connection is down cannot publish).
func (p *Publisher) Connected() bool {
	if p.batch != nil {
		return p.batch.up.Load()
	}
	return p.liveWorst() == ably.ConnectionStateConnected
}

// ConnState is the worst current state of the realtime connections in
// lower case ("connected" only when all are, else "connecting",
// "disconnected", ..., "failed"); in REST batch mode "connected" or
// "disconnected" after the last request.
func (p *Publisher) ConnState() string {
	if p.batch != nil {
		if p.batch.up.Load() {
			return "connected"
		}
		return "disconnected"
	}
	return strings.ToLower(p.liveWorst().String())
}

// RetryIfFailed reconnects every connection that reached FAILED (for
// example the endpoint was replaced and refused the key for a while); it
// reports whether it did.
func (p *Publisher) RetryIfFailed() bool {
	if p.batch != nil {
		return false
	}
	retried := false
	for _, rt := range p.clients() {
		if rt.Connection.State() == ably.ConnectionStateFailed {
			rt.Connect()
			retried = true
		}
	}
	return retried
}

// Paced reports whether the publisher paces to RealAblyRate.
func (p *Publisher) Paced() bool { return p.pacer != nil }

// Publish sends msg on channel over the channel's connection and calls
// onAck exactly once with nil (ACK) or the error. It waits for pacing
// first; a pacing wait cut short by ctx reports ctx.Err() without sending.
// onAck must not block.
func (p *Publisher) Publish(ctx context.Context, channel string, msg *ably.Message, onAck func(error)) {
	i := 0
	if p.batch == nil {
		i = p.connIndex(channel)
	}
	if p.pacer != nil {
		if err := p.pacer.wait(ctx, channel, i); err != nil {
			onAck(err)
			return
		}
	}
	if p.batch != nil {
		p.batch.publish(channel, msg, onAck)
		return
	}
	p.mu.Lock()
	rt := p.conns[i].rt
	p.mu.Unlock()
	var once sync.Once
	ack := func(err error) { once.Do(func() { onAck(ackError(err)) }) }
	returned := make(chan struct{})
	p.sends.run(func() {
		defer close(returned)
		if err := rt.Channels.Get(channel).PublishMultipleAsync([]*ably.Message{msg}, ack); err != nil {
			ack(err)
		}
	})
	t := time.NewTimer(sendTimeout)
	defer t.Stop()
	select {
	case <-returned:
	case <-t.C:
		p.replace(i, rt)
		ack(errSendStuck)
	}
}

// ChannelSendable reports whether ably-go would send a publish on channel
// now rather than refuse it locally with 90001 (RTL6c1): the connection the
// channel is hashed to is CONNECTED and the channel is neither SUSPENDED
// nor FAILED. In REST batch mode: whether the last request got through.
func (p *Publisher) ChannelSendable(channel string) bool {
	if p.batch != nil {
		return p.batch.up.Load()
	}
	i := p.connIndex(channel)
	p.mu.Lock()
	rt := p.conns[i].rt
	p.mu.Unlock()
	if rt.Connection.State() != ably.ConnectionStateConnected {
		return false
	}
	switch rt.Channels.Get(channel).State() {
	case ably.ChannelStateSuspended, ably.ChannelStateFailed:
		return false
	}
	return true
}

// Close closes the realtime connections (waiting at most a few seconds).
func (p *Publisher) Close() {
	if p.batch != nil {
		p.batch.close()
		return
	}
	p.sends.close()
	var wg sync.WaitGroup
	for _, rt := range p.clients() {
		wg.Add(1)
		go func() { defer wg.Done(); rt.Close() }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}

// errNotSent reports a publish ably-go refused without a reason: the
// message was handed to a connection that was closing.
var errNotSent = errors.New("the realtime connection was closing; the message was not sent")

// ackError normalises ably-go's publish result. ably-go v1.3.0 reports a
// publish on a CLOSING connection with a nil *ably.ErrorInfo, which is a
// non-nil error whose methods panic (errors.Is, Error); it was not sent.
func ackError(err error) error {
	if ei, ok := err.(*ably.ErrorInfo); ok && ei == nil {
		return errNotSent
	}
	return err
}

// ErrorCode extracts the Ably error code from err (0 when there is none).
func ErrorCode(err error) int {
	var ei *ably.ErrorInfo
	if errors.As(err, &ei) {
		return int(ei.Code)
	}
	return 0
}

// pacer spaces sends to at most rate per second per channel and per
// connection.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	conns    []time.Time // each connection's next free slot
	channels map[string]time.Time
}

func newPacer(rate, conns int) *pacer {
	return &pacer{interval: time.Second / time.Duration(rate), conns: make([]time.Time, max(conns, 1)),
		channels: map[string]time.Time{}}
}

// reserve books the next send slot for channel, sent over connection conn,
// at or after now: at most one per interval per channel, and one per
// interval per connection.
func (p *pacer) reserve(now time.Time, channel string, conn int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := now
	if t := p.channels[channel]; t.After(at) {
		at = t
	}
	if p.conns[conn].After(at) {
		at = p.conns[conn]
	}
	p.channels[channel] = at.Add(p.interval)
	p.conns[conn] = at.Add(p.interval)
	if len(p.channels) > 10000 { // forget idle channels
		for k, t := range p.channels {
			if t.Before(now) {
				delete(p.channels, k)
			}
		}
	}
	return at
}

// wait reserves the next slot for channel on conn and sleeps until it.
func (p *pacer) wait(ctx context.Context, channel string, conn int) error {
	d := time.Until(p.reserve(time.Now(), channel, conn))
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
