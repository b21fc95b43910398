package connector

import (
	"errors"
	"time"

	"github.com/ably/ably-go/ably"
)

// StatePath is the health-server route that serves a node's NodeState as
// JSON. The monitor reads it from nodes in other processes; in-process
// nodes hand the same value over directly.
const StatePath = "/debug/state"

// NodeState is what one connector node reports about itself: the one
// contract between a connector (producer) and the monitor and dashboard
// (consumers). The node serves it at StatePath and `up` passes it in
// process; both sides use this type, never a copy of its shape.
type NodeState struct {
	// Node is the node's id (a UUID, its row in the nodes table).
	Node string `json:"node"`
	// Kind is KindPostgres for an outbox node, KindMongo for a MongoDB
	// change-stream connector.
	Kind string `json:"kind"`
	// PID is the process running the node.
	PID int `json:"pid"`
	// Share is "index/count" among the live nodes ("-" before the first
	// heartbeat).
	Share string `json:"share"`
	// Time is when the state was taken (UTC).
	Time time.Time `json:"time"`
	// Held counts rows in memory: queued, in flight or awaiting completion.
	Held int `json:"held"`
	// InFlight counts publishes sent and not yet acknowledged.
	InFlight int `json:"inFlight"`
	// AwaitingCompletion counts acknowledged rows not yet deleted.
	AwaitingCompletion int `json:"awaitingCompletion"`
	// DeferredClaims counts claim rounds skipped because the node held as
	// many rows as it may.
	DeferredClaims int64 `json:"deferredClaims"`
	// LastNotification is when the node last received NOTIFY ably_adbc
	// (nil: never).
	LastNotification *time.Time `json:"lastNotification,omitempty"`
	// LastClaim is when the node last claimed at least one row (nil: never).
	LastClaim *time.Time `json:"lastClaim,omitempty"`
	// Paced is true against real Ably (50 msg/s per channel and connection).
	Paced bool `json:"paced"`
	// Ably is the node's realtime connection.
	Ably AblyConnState `json:"ably"`
	// EventsDropped counts events slow subscribers missed.
	EventsDropped int64 `json:"eventsDropped"`
	// Channels are the channels the node holds rows of, sorted by name.
	Channels []ChannelState `json:"channels"`
	// Mongo is the change stream's state (Kind KindMongo only).
	Mongo *MongoState `json:"mongo,omitempty"`
	// Stages are the per-stage latencies of the node's most recent rows,
	// from its journal (absent when the journal is off).
	Stages []StageLatency `json:"stages,omitempty"`
}

// The kinds of connector node.
const (
	// KindPostgres is an outbox node.
	KindPostgres = "postgres"
	// KindMongo is a MongoDB change-stream connector.
	KindMongo = "mongo"
)

// AblyConnState is a node's realtime connection to Ably (or the local
// endpoint).
type AblyConnState struct {
	// State is the ably-go connection state: "connected", "disconnected",
	// "suspended", "failed", ...
	State string `json:"state"`
	// Reason is the last state change's error, if any.
	Reason *ErrorInfo `json:"reason,omitempty"`
	// Since is when the connection entered State.
	Since *time.Time `json:"since,omitempty"`
}

// ErrorInfo is an Ably error: its code and message, and when it happened.
type ErrorInfo struct {
	// Code is the Ably error code (40009, 40160, 42913, 80003, ...; 0 when
	// the failure had no Ably code, e.g. a timeout).
	Code int `json:"code"`
	// StatusCode is the HTTP-like status Ably gave, when known.
	StatusCode int `json:"statusCode,omitempty"`
	// Message is the error's text.
	Message string `json:"message"`
	// Time is when it happened (UTC).
	Time time.Time `json:"time"`
}

// ChannelState is one channel a node holds.
type ChannelState struct {
	// Channel is the Ably channel name.
	Channel string `json:"channel"`
	// Owner is the node holding it.
	Owner string `json:"owner"`
	// Head is the next row to publish: the lowest row of the channel the
	// node holds and has not had acknowledged (0 when none).
	Head int64 `json:"head,omitempty"`
	// Queued counts claimed rows of the channel not yet acknowledged.
	Queued int `json:"queued"`
	// InFlight is true while a publish of Head awaits its ACK.
	InFlight bool `json:"inFlight"`
	// Attempts counts failed publish attempts of Head.
	Attempts int `json:"attempts"`
	// Blocked is true when a permanent error (40009, 40010, 40160, ...)
	// stopped the channel at BlockedRow. The node re-checks the row on
	// every heartbeat and resumes when it was deleted, changed or released.
	Blocked bool `json:"blocked"`
	// BlockedRow is the row that blocked the channel (0 when not blocked).
	BlockedRow int64 `json:"blockedRow,omitempty"`
	// LastError is the last publish failure of the current head row; it is
	// cleared when a row of the channel is acknowledged.
	LastError *ErrorInfo `json:"lastError,omitempty"`
	// NextRetry is when Head will be tried again after a retryable failure
	// (nil: not waiting).
	NextRetry *time.Time `json:"nextRetry,omitempty"`
}

// NewErrorInfo describes err as an ErrorInfo at t: its Ably code and status
// code when it carries them (0 otherwise) and its text. It returns nil for
// a nil err.
func NewErrorInfo(err error, t time.Time) *ErrorInfo {
	if err == nil {
		return nil
	}
	e := &ErrorInfo{Code: ErrorCode(err), Message: err.Error(), Time: t.UTC()}
	var ai *ably.ErrorInfo
	if errors.As(err, &ai) {
		e.StatusCode = ai.StatusCode
	}
	return e
}
