package monitor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// TailOptions configure a channel tail.
type TailOptions struct {
	// ClientOptions point ably-go at the endpoint and carry the key (for the
	// local endpoint: ablylocal.ClientOptions).
	ClientOptions []ably.ClientOption
	// Channels are attached at start, live only (no rewind).
	Channels []string
	// Rewind is the rewind param for channels added later with Add (a
	// count such as "1" or a span such as "2m"), so a channel seen in the
	// outbox does not miss its first message; default "2m", "-" for none.
	Rewind string
	// Buffer bounds the messages waiting to be read; when full the oldest
	// is dropped (see Dropped). Default 1000.
	Buffer int
	// MaxPerConnection is how many channels share one realtime connection
	// (Ably allows 200 with a real key); default 200.
	MaxPerConnection int
	// OnAttached is called once a channel is attached and subscribed.
	OnAttached func(channel string)
}

// TailMessage is one received message, decoded.
type TailMessage struct {
	// Channel is the channel it arrived on.
	Channel string `json:"channel"`
	// ID is the message id (the outbox sequence_id for LiveSync).
	ID string `json:"id"`
	// Name is the message name.
	Name string `json:"name"`
	// Data is the decoded payload: JSON as json.RawMessage, text as string,
	// binary as []byte, nil when absent.
	Data any `json:"data"`
	// Headers are extras.headers, or nil.
	Headers map[string]any `json:"headers"`
	// Timestamp is Ably's timestamp in milliseconds since the epoch.
	Timestamp int64 `json:"timestamp"`
	// ConnectionID is the publisher's connection.
	ConnectionID string `json:"connectionId"`
	// DecodeError says why Data could not be fully decoded, if so.
	DecodeError string `json:"decodeError,omitempty"`
}

// Tail subscribes to channels through ably-go realtime connections and
// delivers decoded messages through a bounded buffer.
type Tail struct {
	opts    TailOptions
	out     chan TailMessage
	dropped atomic.Int64

	pushMu sync.Mutex
	mu     sync.Mutex
	conns  []*tailConn
	chans  map[string]bool
	closed bool
}

// tailConn is one realtime connection and how many channels it carries.
type tailConn struct {
	client *ably.Realtime
	n      int
}

// StartTail connects and attaches opts.Channels. It returns once every
// initial channel is attached (or fails with the first attach error).
func StartTail(ctx context.Context, opts TailOptions) (*Tail, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 1000
	}
	if opts.MaxPerConnection <= 0 {
		opts.MaxPerConnection = 200
	}
	if opts.Rewind == "" {
		opts.Rewind = "2m"
	}
	t := &Tail{opts: opts, out: make(chan TailMessage, opts.Buffer), chans: map[string]bool{}}
	for _, ch := range opts.Channels {
		if err := t.add(ctx, ch, ""); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// Add attaches a newly seen channel with the rewind param, so messages
// published just before it was seen are delivered too. Adding a channel
// twice does nothing.
func (t *Tail) Add(ctx context.Context, channel string) error {
	rewind := t.opts.Rewind
	if rewind == "-" {
		rewind = ""
	}
	return t.add(ctx, channel, rewind)
}

// add attaches channel on a connection with room, opening one if needed.
func (t *Tail) add(ctx context.Context, channel, rewind string) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fmt.Errorf("tail is closed")
	}
	if t.chans[channel] {
		t.mu.Unlock()
		return nil
	}
	var c *tailConn
	for _, cc := range t.conns {
		if cc.n < t.opts.MaxPerConnection {
			c = cc
			break
		}
	}
	if c == nil {
		// SDK log lines never reach the terminal raw: discarded unless the
		// caller routes them (redacted) with ablylog.ClientOptions.
		client, err := ably.NewRealtime(append(ablylog.ClientOptions(nil), t.opts.ClientOptions...)...)
		if err != nil {
			t.mu.Unlock()
			return fmt.Errorf("ably client: %w", err)
		}
		c = &tailConn{client: client}
		t.conns = append(t.conns, c)
	}
	c.n++
	t.chans[channel] = true
	t.mu.Unlock()

	var chOpts []ably.ChannelOption
	if rewind != "" {
		chOpts = append(chOpts, ably.ChannelWithParams("rewind", rewind))
	}
	ch := c.client.Channels.Get(channel, chOpts...)
	// A host that cannot be reached (DNS, refused, TLS) ends the attach at
	// the first failed connection attempt, with the reason, instead of at
	// the caller's deadline.
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	off := c.client.Connection.OnAll(func(sc ably.ConnectionStateChange) {
		if sc.Reason == nil {
			return // a nil *ErrorInfo in an error interface would panic in errors.As
		}
		if u := ablylog.Unreachable(sc.Reason, "the Ably host"); u != nil && sc.Current != ably.ConnectionStateConnected {
			cancel(u)
		}
	})
	defer off()
	err := ablylog.AwaitConnected(actx, c.client)
	if err == nil {
		_, err = ch.SubscribeAll(actx, func(msg *ably.Message) { t.push(channel, msg) })
	}
	if err != nil {
		var u *ablylog.UnreachableError
		if errors.As(context.Cause(actx), &u) {
			err = u
		}
		t.mu.Lock()
		c.n--
		delete(t.chans, channel)
		t.mu.Unlock()
		return fmt.Errorf("attaching %s: %w", channel, err)
	}
	if t.opts.OnAttached != nil {
		t.opts.OnAttached(channel)
	}
	return nil
}

// push decodes msg and buffers it, dropping the oldest when full.
func (t *Tail) push(channel string, msg *ably.Message) {
	m := TailMessage{Channel: channel, ID: msg.ID, Name: msg.Name, Timestamp: msg.Timestamp, ConnectionID: msg.ConnectionID}
	m.Data, m.DecodeError = decodeData(msg.Data, msg.Encoding)
	if h, ok := msg.Extras["headers"].(map[string]any); ok {
		m.Headers = h
	}
	t.pushMu.Lock()
	defer t.pushMu.Unlock()
	for {
		select {
		case t.out <- m:
			return
		default:
		}
		select {
		case <-t.out:
			t.dropped.Add(1)
		default:
		}
	}
}

// Messages delivers received messages in arrival order.
func (t *Tail) Messages() <-chan TailMessage { return t.out }

// Dropped counts messages dropped because the buffer was full.
func (t *Tail) Dropped() int64 { return t.dropped.Load() }

// Channels returns the attached channels, sorted.
func (t *Tail) Channels() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.chans))
	for ch := range t.chans {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// Close closes every connection. Messages already buffered stay readable.
func (t *Tail) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	for _, c := range t.conns {
		c.client.Close()
	}
}

// Connections returns how many realtime connections the tail uses.
func (t *Tail) Connections() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// AddChannels attaches each channel not yet attached, with rewind (for
// example the channels of a snapshot's backlog, or the connector's
// publishes). It stops at the first failure.
func (t *Tail) AddChannels(ctx context.Context, channels []string) error {
	for _, ch := range channels {
		if err := t.Add(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}
