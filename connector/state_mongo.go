package connector

import "time"

// MongoStream is the condition of a Mongo connector's change stream.
type MongoStream string

// The change stream's conditions.
const (
	// MongoStarting: loading the resume token and opening the stream.
	MongoStarting MongoStream = "starting"
	// MongoStreaming: the stream is open and events are published.
	MongoStreaming MongoStream = "streaming"
	// MongoRetrying: the stream failed with a transient error (72003) and
	// is reopened after a backoff.
	MongoRetrying MongoStream = "retrying"
	// MongoStuck: the connector cannot go on until the user acts (72006
	// token unreadable, 72008 history lost); MongoState.Action says what to
	// do. It retries every retry.max, so the advised action takes effect.
	MongoStuck MongoStream = "stuck"
	// MongoStopped: the connector was stopped.
	MongoStopped MongoStream = "stopped"
)

// MongoState is a Mongo change-stream connector's view of its stream: the
// Mongo part of NodeState (Kind KindMongo).
type MongoState struct {
	// Rule is the rule id: the _id of its token document in the "ably"
	// collection of Database.
	Rule string `json:"rule"`
	// Database and Collection are the watched collection.
	Database   string `json:"database"`
	Collection string `json:"collection"`
	// Stream is the change stream's condition.
	Stream MongoStream `json:"stream"`
	// Detail says why the stream is stuck or retrying, or why storing the
	// token fails ("" when all is well).
	Detail string `json:"detail,omitempty"`
	// Action says what fixes it ("" when all is well).
	Action string `json:"action,omitempty"`
	// ResumeToken is the last stored resume token's _data ("" when none
	// is stored).
	ResumeToken string `json:"resumeToken,omitempty"`
	// TokenClusterTime is the cluster time ResumeToken points at, when the
	// token says (nil otherwise).
	TokenClusterTime *time.Time `json:"tokenClusterTime,omitempty"`
	// TokenStored is when this process last stored the token (nil: never).
	TokenStored *time.Time `json:"tokenStored,omitempty"`
	// TokenAgeSeconds is how long ago TokenStored was (0 when never).
	TokenAgeSeconds float64 `json:"tokenAgeSeconds"`
	// TokenStoreFailing is true while storing the token fails (72007).
	TokenStoreFailing bool `json:"tokenStoreFailing"`
	// Published counts events published (acknowledged by Ably).
	Published int64 `json:"published"`
	// EventsPerSecond is the publish rate over the last 10 seconds.
	EventsPerSecond float64 `json:"eventsPerSecond"`
	// EventsSinceCheckpoint counts events handled after the stored token
	// (replayed after a crash, and de-duplicated by Ably).
	EventsSinceCheckpoint int64 `json:"eventsSinceCheckpoint"`
	// SkippedNoChannel counts events skipped for lacking a root
	// _ablyChannel (72004).
	SkippedNoChannel int64 `json:"skippedNoChannel"`
	// SkippedPublish counts events skipped on a permanent Ably error
	// (72001).
	SkippedPublish int64 `json:"skippedPublish"`
	// LastError is the last failure: a LiveSync code 72001..72008 with its
	// message (nil: none).
	LastError *ErrorInfo `json:"lastError,omitempty"`
}
