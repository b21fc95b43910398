package connector

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what happened.
type EventKind string

// The kinds of Event a connector emits.
const (
	// EventClaimed: a node locked Rows rows (Channel empty: the whole batch).
	EventClaimed EventKind = "claimed"
	// EventPublished: the row SequenceID was acknowledged by Ably after Latency.
	EventPublished EventKind = "published"
	// EventFailed: a publish attempt of SequenceID failed with Code.
	EventFailed EventKind = "failed"
	// EventBlocked: Channel stopped at SequenceID on a permanent error Code.
	EventBlocked EventKind = "channel_blocked"
	// EventUnblocked: Channel's blocking row went away; the channel flows again.
	EventUnblocked EventKind = "channel_unblocked"
	// EventLeaseGained: the node (re)registered its row in the nodes table.
	EventLeaseGained EventKind = "lease_gained"
	// EventLeaseLost: the node lost its node row, or the row locks of Channel.
	EventLeaseLost EventKind = "lease_lost"
	// EventInfo: a notable state change (pacing on, endpoint down/up, ...).
	EventInfo EventKind = "info"
)

// Event is one entry of the connector's event stream.
type Event struct {
	// Time is when the event happened (local clock, for display only).
	Time time.Time `json:"time"`
	// Kind says what happened.
	Kind EventKind `json:"kind"`
	// Node is the emitting node's id.
	Node string `json:"node"`
	// Channel is the Ably channel concerned, if any.
	Channel string `json:"channel,omitempty"`
	// SequenceID is the outbox row concerned, if any.
	SequenceID int64 `json:"sequenceId,omitempty"`
	// Rows counts rows (claimed events).
	Rows int `json:"rows,omitempty"`
	// Latency is publish → ACK time (published events).
	Latency time.Duration `json:"latency,omitempty"`
	// Attempt is the 1-based publish attempt (published and failed events).
	Attempt int `json:"attempt,omitempty"`
	// Code is the Ably error code (failed and blocked events; 0 = none).
	Code int `json:"code,omitempty"`
	// Message is a human-readable detail.
	Message string `json:"message,omitempty"`
}

// Bus fans events out to subscribers without ever blocking the emitter: a
// subscriber whose buffer is full misses the event, and the miss is counted.
// The zero value is ready to use.
type Bus struct {
	mu      sync.Mutex
	subs    map[int]chan Event
	next    int
	dropped atomic.Int64
}

// Subscribe returns a channel receiving events emitted from now on, buffered
// to buffer entries (minimum 1), and a function that unsubscribes and closes
// the channel. Calling the function twice is harmless.
func (b *Bus) Subscribe(buffer int) (<-chan Event, func()) {
	if buffer < 1 {
		buffer = 1
	}
	ch := make(chan Event, buffer)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[int]chan Event{}
	}
	id := b.next
	b.next++
	b.subs[id] = ch
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, id)
			b.mu.Unlock()
			close(ch)
		})
	}
}

// Emit delivers e to every subscriber that has room, stamping Time if unset.
func (b *Bus) Emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs {
		select {
		case ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// Dropped is the number of events subscribers missed because they were slow.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }
