package mongo

import (
	"sync"
	"time"
)

// StreamState is the change stream's condition.
type StreamState string

// The stream states.
const (
	// StreamStarting: loading the token and opening the stream.
	StreamStarting StreamState = "starting"
	// StreamStreaming: the stream is open and events are published.
	StreamStreaming StreamState = "streaming"
	// StreamRetrying: the stream failed with a transient error (72003) and
	// is reopened after a backoff.
	StreamRetrying StreamState = "retrying"
	// StreamStuck: the connector cannot go on without the user acting
	// (72006 token unreadable, 72008 history lost); Action says what to do.
	// It retries every RetryMax, so the advised action takes effect.
	StreamStuck StreamState = "stuck"
	// StreamStopped: Stop was called.
	StreamStopped StreamState = "stopped"
)

// State is what the Mongo connector reports about itself (for the monitor,
// the dashboard panel and status --json). It is a plain value: a copy.
type State struct {
	// Rule is the rule id (the _id of its document in the "ably" collection).
	Rule string `json:"rule"`
	// Database and Collection are the watched namespace.
	Database   string `json:"database"`
	Collection string `json:"collection"`
	// Stream is the change stream's condition.
	Stream StreamState `json:"stream"`
	// ResumeToken is the last stored token's _data (empty: none stored yet).
	ResumeToken string `json:"resumeToken,omitempty"`
	// TokenStoredAt is when it was stored (nil: never by this process).
	TokenStoredAt *time.Time `json:"tokenStoredAt,omitempty"`
	// TokenAgeSeconds is how long ago it was stored (0 when never).
	TokenAgeSeconds float64 `json:"tokenAgeSeconds"`
	// EventsSinceCheckpoint counts events handled after the stored token
	// (replayed, and de-duplicated by Ably, after a crash).
	EventsSinceCheckpoint int64 `json:"eventsSinceCheckpoint"`
	// Published counts events published (ACKed).
	Published int64 `json:"published"`
	// EventsPerSecond is the publish rate over the last 10 seconds.
	EventsPerSecond float64 `json:"eventsPerSecond"`
	// SkippedNoChannel counts events skipped for a missing _ablyChannel (72004).
	SkippedNoChannel int64 `json:"skippedNoChannel"`
	// SkippedPublish counts events skipped on a permanent Ably error (72001).
	SkippedPublish int64 `json:"skippedPublish"`
	// LastErrorCode and LastError are the most recent error (0/"": none).
	LastErrorCode int    `json:"lastErrorCode,omitempty"`
	LastError     string `json:"lastError,omitempty"`
	// LastErrorAt is when it happened.
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
	// TokenStoreFailing is true while storing the token fails (72007).
	TokenStoreFailing bool `json:"tokenStoreFailing"`
	// Reason says why the stream is stuck or retrying; Action what fixes it.
	Reason string `json:"reason,omitempty"`
	Action string `json:"action,omitempty"`
	// AblyConnection is the publisher's realtime connection state.
	AblyConnection string `json:"ablyConnection,omitempty"`
}

// rate counts events in one-second buckets over a 10 s window.
type rate struct {
	mu      sync.Mutex
	buckets [10]int64
	secs    [10]int64
}

func (r *rate) add(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := now.Unix()
	i := s % int64(len(r.buckets))
	if r.secs[i] != s {
		r.secs[i], r.buckets[i] = s, 0
	}
	r.buckets[i]++
}

// perSecond averages the complete seconds of the window.
func (r *rate) perSecond(now time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := now.Unix()
	var n int64
	for i := range r.buckets {
		if r.secs[i] < s && r.secs[i] >= s-int64(len(r.buckets)) {
			n += r.buckets[i]
		}
	}
	return float64(n) / float64(len(r.buckets))
}
