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
	// Pace limits publishing to RealAblyRate per channel and per connection
	// (set it for real Ably).
	Pace bool
	// RESTBatch publishes with REST batch publish (POST /messages, up to 100
	// channels per request, one message per BatchSpec) instead of realtime.
	RESTBatch bool
	// Logger receives ably-go's warnings and errors, with keys and tokens
	// redacted (nil discards them).
	Logger *slog.Logger
	// OnState, when set, is called on every connection state change with
	// the new state and the reason (nil when none). It must not block.
	OnState func(state string, reason error)
}

// Publisher sends one message per ProtocolMessage over its own ably-go
// realtime connection and reports each ACK or NACK. Publishes are not
// queued by ably-go while disconnected: they fail at once and the caller
// retries, so nothing is sent after the caller stopped owning the row.
type Publisher struct {
	opts  PublisherOptions
	pacer *pacer

	mu     sync.Mutex
	rt     *ably.Realtime
	dialed time.Time    // when rt was created
	batch  *restBatcher // REST batch mode instead of rt

	upMu sync.Mutex
	upCh chan struct{} // closed at the next transition to CONNECTED
}

// sendTimeout bounds how long handing a message to ably-go may take. ably-go
// v1.3.0 writes to the WebSocket without a deadline, and a write that fails
// while the endpoint goes away can block forever holding the connection's
// lock (nhooyr.io/websocket v1.8.7); such a client is replaced.
const sendTimeout = 5 * time.Second

// errSendStuck reports a publish whose hand-over to ably-go never returned.
var errSendStuck = errors.New("ably-go send blocked; the realtime connection was replaced")

// NewPublisher connects (asynchronously) to the endpoint.
func NewPublisher(opts PublisherOptions) (*Publisher, error) {
	p := &Publisher{opts: opts, upCh: make(chan struct{})}
	if opts.Pace {
		p.pacer = newPacer(RealAblyRate)
	}
	if opts.RESTBatch {
		b, err := newRESTBatcher(append(ablylog.ClientOptions(opts.Logger), opts.ClientOptions...))
		if err != nil {
			return nil, err
		}
		p.batch = b
		return p, nil
	}
	rt, err := p.dial()
	if err != nil {
		return nil, err
	}
	p.rt, p.dialed = rt, time.Now()
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
	rt.Connection.On(ably.ConnectionEventConnected, func(ably.ConnectionStateChange) { p.signalUp() })
	if p.opts.OnState != nil {
		rt.Connection.OnAll(func(c ably.ConnectionStateChange) {
			var reason error
			if c.Reason != nil {
				reason = c.Reason
			}
			p.opts.OnState(c.Current.String(), reason)
		})
	}
	return rt, nil
}

// signalUp wakes everyone waiting for the connection to come back.
func (p *Publisher) signalUp() {
	p.upMu.Lock()
	defer p.upMu.Unlock()
	close(p.upCh)
	p.upCh = make(chan struct{})
}

// Reconnected returns a channel that is closed the next time the realtime
// connection becomes CONNECTED (after an outage, or a replaced client). A
// row whose publish failed because the endpoint was away waits on it as well
// as on its backoff, so it goes out as soon as the endpoint is back rather
// than when a backoff grown during a long outage ends. In REST batch mode it
// is never closed.
func (p *Publisher) Reconnected() <-chan struct{} {
	p.upMu.Lock()
	defer p.upMu.Unlock()
	return p.upCh
}

func (p *Publisher) client() *ably.Realtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rt
}

// replace abandons a wedged client for a new connection.
func (p *Publisher) replace(old *ably.Realtime) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rt != old {
		return
	}
	rt, err := p.dial()
	if err != nil {
		return
	}
	p.rt, p.dialed = rt, time.Now()
	go old.Close() // may block forever on the wedged lock; never waited for
}

// Reset drops the realtime connection and opens a new one. ably-go keeps
// unacknowledged messages and sends them again when its transport comes
// back; after Reset they can never be sent (their callbacks report an
// error). A node resets when a publish outlives its row's lock, so a node
// that stalled and woke cannot re-send rows another node has taken over.
// Only a connection opened before sent (the publish's start) is dropped, so
// several publishes timing out together reset it once.
func (p *Publisher) Reset(sent time.Time) {
	if p.batch != nil {
		return
	}
	p.mu.Lock()
	rt, dialed := p.rt, p.dialed
	p.mu.Unlock()
	if dialed.Before(sent) {
		p.replace(rt)
	}
}

// Connected reports whether the realtime connection is up.
func (p *Publisher) Connected() bool {
	if p.batch != nil {
		return p.batch.up.Load()
	}
	return p.client().Connection.State() == ably.ConnectionStateConnected
}

// ConnState is the realtime connection's current state in lower case
// ("connected", "disconnected", ...); in REST batch mode "connected" or "disconnected"
// after the last request.
func (p *Publisher) ConnState() string {
	if p.batch != nil {
		if p.batch.up.Load() {
			return "connected"
		}
		return "disconnected"
	}
	return strings.ToLower(p.client().Connection.State().String())
}

// RetryIfFailed reconnects a connection that reached FAILED (for example
// the endpoint was replaced and refused the key for a while); it reports
// whether it did.
func (p *Publisher) RetryIfFailed() bool {
	if p.batch != nil {
		return false
	}
	rt := p.client()
	if rt.Connection.State() != ably.ConnectionStateFailed {
		return false
	}
	rt.Connect()
	return true
}

// Paced reports whether the publisher paces to RealAblyRate.
func (p *Publisher) Paced() bool { return p.pacer != nil }

// Publish sends msg on channel and calls onAck exactly once with nil (ACK)
// or the error. It waits for pacing first; a pacing wait cut short by ctx
// reports ctx.Err() without sending. onAck must not block.
func (p *Publisher) Publish(ctx context.Context, channel string, msg *ably.Message, onAck func(error)) {
	if p.pacer != nil {
		if err := p.pacer.wait(ctx, channel); err != nil {
			onAck(err)
			return
		}
	}
	if p.batch != nil {
		p.batch.publish(channel, msg, onAck)
		return
	}
	rt := p.client()
	var once sync.Once
	ack := func(err error) { once.Do(func() { onAck(err) }) }
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		if err := rt.Channels.Get(channel).PublishMultipleAsync([]*ably.Message{msg}, ack); err != nil {
			ack(err)
		}
	}()
	t := time.NewTimer(sendTimeout)
	defer t.Stop()
	select {
	case <-returned:
	case <-t.C:
		p.replace(rt)
		ack(errSendStuck)
	}
}

// Close closes the realtime connection (waiting at most a few seconds).
func (p *Publisher) Close() {
	if p.batch != nil {
		p.batch.close()
		return
	}
	rt := p.client()
	done := make(chan struct{})
	go func() { rt.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}

// ErrorCode extracts the Ably error code from err (0 when there is none).
func ErrorCode(err error) int {
	var ei *ably.ErrorInfo
	if errors.As(err, &ei) {
		return int(ei.Code)
	}
	return 0
}

// pacer spaces sends to at most rate per second per channel and overall.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	conn     time.Time
	channels map[string]time.Time
}

func newPacer(rate int) *pacer {
	return &pacer{interval: time.Second / time.Duration(rate), channels: map[string]time.Time{}}
}

// reserve books the next send slot for channel at or after now: at most
// one per interval per channel, and one per interval overall.
func (p *pacer) reserve(now time.Time, channel string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := now
	if t := p.channels[channel]; t.After(at) {
		at = t
	}
	if p.conn.After(at) {
		at = p.conn
	}
	p.channels[channel] = at.Add(p.interval)
	p.conn = at.Add(p.interval)
	if len(p.channels) > 10000 { // forget idle channels
		for k, t := range p.channels {
			if t.Before(now) {
				delete(p.channels, k)
			}
		}
	}
	return at
}

// wait reserves the next slot for channel and sleeps until it.
func (p *pacer) wait(ctx context.Context, channel string) error {
	d := time.Until(p.reserve(time.Now(), channel))
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
