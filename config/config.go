// Package config models livesync.yaml: the fields of Ably's LiveSync
// integration rules for Postgres and MongoDB, the tuning of the local
// connector, and the sandbox, local Ably endpoint and dashboard settings.
//
// A configuration is built in layers, each overriding the one before:
// built-in defaults < the YAML file < LIVESYNC_* environment variables <
// command-line flags. Every key has one path ("connector.pollInterval"), one
// environment variable ("LIVESYNC_CONNECTOR_POLL_INTERVAL") and one default;
// KeyPaths lists them and WriteDefault renders them as a commented file.
//
// Errors are specific: a bad file value names the file, line and key and
// says how to fix it; a bad environment variable names the variable; a bad
// flag names its key path. Watch reloads the file when it changes.
//
// Struct tags drive the key table: yaml is the key name, doc its one-line
// description, enum the allowed values, min/max the range of an integer
// (min also the shortest duration a key accepts, MinDuration (100ms) when
// absent), and secret keeps a value out of messages and out of the file
// init writes.
package config

import (
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// Config is the whole livesync.yaml. Obtain one with Default or Load; compare
// two with Equal (it ignores where each value came from).
type Config struct {
	Postgres  Postgres  `yaml:"postgres" doc:"The Postgres outbox, as in Ably's ingress-postgres-outbox rule."`
	Mongo     Mongo     `yaml:"mongo" doc:"The MongoDB change stream, as in Ably's ingress/mongodb rule."`
	Connector Connector `yaml:"connector" doc:"Tuning of the local LiveSync connector."`
	Sandbox   Sandbox   `yaml:"sandbox" doc:"How the local databases are provided."`
	Ably      Ably      `yaml:"ably" doc:"Where messages are published: real Ably with a key, else the local endpoint."`
	Dashboard Dashboard `yaml:"dashboard" doc:"The terminal dashboard."`

	// origins records where each key path's value came from (see Origin).
	origins map[string]origin
}

// Postgres holds the target fields of Ably's Postgres outbox integration rule.
type Postgres struct {
	// URL is the connection URL; "" means the sandbox's own database.
	URL string `yaml:"url" doc:"Connection URL (postgres://user:pass@host:port/db); empty = the sandbox database."`
	// OutboxTableSchema is the schema holding the outbox table.
	OutboxTableSchema string `yaml:"outboxTableSchema" doc:"Schema of the outbox table."`
	// OutboxTableName is the outbox table's name.
	OutboxTableName string `yaml:"outboxTableName" doc:"Name of the outbox table."`
	// NodesTableSchema is the schema holding the nodes table.
	NodesTableSchema string `yaml:"nodesTableSchema" doc:"Schema of the nodes table."`
	// NodesTableName is the nodes table's name.
	NodesTableName string `yaml:"nodesTableName" doc:"Name of the nodes table."`
	// SSLMode applies when URL carries no sslmode parameter.
	SSLMode string `yaml:"sslMode" enum:"prefer|require|verify-ca|verify-full|disable" doc:"TLS mode when the URL has no sslmode parameter (sandbox URLs carry sslmode=disable)."`
	// SSLRootCert is the CA certificate file for verify-ca and verify-full.
	SSLRootCert string `yaml:"sslRootCert" doc:"CA certificate file (PEM) for verify-ca and verify-full; empty = system roots."`
	// PrimarySite is the Ably site of a hosted rule; unused locally.
	PrimarySite string `yaml:"primarySite" enum:"|eu-central-1-A|eu-west-1-A|us-east-1-A|us-east-2-A|us-west-1-A" doc:"Ably primary site of the hosted rule; kept for parity, unused locally."`
}

// Mongo holds the target fields of Ably's MongoDB integration rule.
type Mongo struct {
	// URL is the connection URL; "" means the sandbox's replica set.
	URL string `yaml:"url" doc:"Connection URL (mongodb://...); empty = the sandbox replica set."`
	// Database is the database that holds the watched collection.
	Database string `yaml:"database" doc:"Database of the watched collection (the resume token is kept in its 'ably' collection)."`
	// Collection is the watched collection.
	Collection string `yaml:"collection" doc:"Watched collection."`
	// Pipeline is the change-stream aggregation pipeline as a JSON array.
	Pipeline string `yaml:"pipeline" doc:"Change-stream pipeline, a JSON array as a string (a YAML list is accepted too); must set _ablyChannel on the event root."`
	// FullDocument controls the post-image carried by update events.
	FullDocument string `yaml:"fullDocument" enum:"off|updateLookup|whenAvailable" doc:"Post-image in change events."`
	// FullDocumentBeforeChange controls the pre-image carried by events.
	FullDocumentBeforeChange string `yaml:"fullDocumentBeforeChange" enum:"off|whenAvailable" doc:"Pre-image in change events."`
	// PrimarySite is the Ably site of a hosted rule; unused locally.
	PrimarySite string `yaml:"primarySite" enum:"|eu-central-1-A|eu-west-1-A|us-east-1-A|us-east-2-A|us-west-1-A" doc:"Ably primary site of the hosted rule; kept for parity, unused locally."`
	// DataEncoding selects the Extended JSON flavour of published data.
	DataEncoding string `yaml:"dataEncoding" enum:"relaxed|canonical" doc:"Extended JSON flavour of the published change event (a sandbox choice; Ably does not document it)."`
	// CheckpointInterval is how often the resume token is stored.
	CheckpointInterval time.Duration `yaml:"checkpointInterval" doc:"How often the resume token is stored in the database's 'ably' collection (also at shutdown); events after it are replayed, and de-duplicated by Ably, after a crash."`
}

// Connector tunes the local connector (spec §1.5 and its review corrections).
type Connector struct {
	// PollInterval is the fixed-rate period and the notification debounce window.
	PollInterval time.Duration `yaml:"pollInterval" doc:"Fixed-rate poll period, and the debounce window for NOTIFY wake-ups."`
	// PollFixedRate polls every PollInterval instead of waiting for NOTIFY.
	PollFixedRate bool `yaml:"pollFixedRate" doc:"Poll every pollInterval instead of waking on NOTIFY ably_adbc."`
	// SafetyPoll is the slow poll that retries lapsed locks when idle.
	SafetyPoll time.Duration `yaml:"safetyPoll" doc:"Slow poll that retries rows with lapsed locks even when nothing is inserted."`
	// Debounce selects where in the window a NOTIFY wake-up polls.
	Debounce string `yaml:"debounce" enum:"leading|trailing" doc:"Poll at the start (leading) or the end (trailing) of the debounce window."`
	// HeartbeatTimeout is how far ahead a node pushes its nodes.expiry.
	HeartbeatTimeout time.Duration `yaml:"heartbeatTimeout" doc:"How far ahead a node sets its nodes.expiry; it refreshes every third of it."`
	// LockTTL is how long a claimed row stays locked by its node.
	LockTTL time.Duration `yaml:"lockTTL" doc:"How long claimed rows stay locked; at least 2 x pollInterval, and lockTTL + safetyPoll + retry.max < 120s."`
	// LazyFence skips the lock extension before a fresh row's first attempt.
	LazyFence bool `yaml:"lazyFence" doc:"Skip extending a row's lock before its first publish when it was locked < lockTTL/3 ago (faster; misses locks cleared by hand)."`
	// FenceAhead is how many rows behind the one awaiting its ACK have their
	// lock check requested early.
	FenceAhead int `yaml:"fenceAhead" min:"0" max:"16" doc:"Rows queued behind the one awaiting its ACK whose lock check is requested early (each attempt still waits for its own check; more keep a channel from waiting on the check after an ACK); 0 checks a row only as it is about to be sent (slower; notices a lock cleared by hand at once)."`
	// SynchronousCommit makes the connector's own commits wait for the WAL flush.
	SynchronousCommit bool `yaml:"synchronousCommit" doc:"Wait for the WAL flush on the connector's own commits (claims, lock checks, completions). false commits them asynchronously (synchronous_commit=off in its sessions only): a Postgres crash may forget the last ~0.6 s of them, which re-publishes those rows (Ably drops the repeats by message id within 2 minutes); your application's transactions keep their own setting."`
	// BatchSize is the number of rows claimed per round.
	BatchSize int `yaml:"batchSize" min:"1" max:"1000" doc:"Rows claimed per round."`
	// Retry bounds the publish retry backoff.
	Retry Retry `yaml:"retry" doc:"Backoff between publish retries."`
	// CompletionFlush bounds the delay between an ACK and the row's completion.
	CompletionFlush time.Duration `yaml:"completionFlush" min:"10ms" doc:"Longest wait between an ACK and completing its rows (deleting them, keeping the tombstone)."`
	// StatementTimeout is the connector connections' statement_timeout.
	StatementTimeout time.Duration `yaml:"statementTimeout" doc:"statement_timeout of the connector's Postgres connections: no query runs longer."`
	// LockTimeout is the connector connections' lock_timeout.
	LockTimeout time.Duration `yaml:"lockTimeout" doc:"lock_timeout of the connector's connections: the longest wait for a lock (e.g. another node's completion); at most statementTimeout."`
	// IdleInTransactionTimeout is the connector connections'
	// idle_in_transaction_session_timeout.
	IdleInTransactionTimeout time.Duration `yaml:"idleInTransactionTimeout" doc:"idle_in_transaction_session_timeout of the connector's connections: a node stopped mid-transaction (SIGSTOP, debugger) loses it and its locks."`
	// PermanentCodes are Ably error codes that are not retried.
	PermanentCodes []int `yaml:"permanentCodes" min:"10000" max:"99999" doc:"Ably error codes treated as permanent (the row stays failed, no retry)."`
	// RetainProcessed keeps published rows (processed=true) instead of deleting them.
	RetainProcessed bool `yaml:"retainProcessed" doc:"Keep published rows with processed=true instead of deleting them (debugging aid, not Ably behaviour)."`
	// PublishMode selects how messages reach Ably.
	PublishMode string `yaml:"publishMode" enum:"realtime|rest-batch" doc:"Publish over realtime connections (as Ably's connector; see ablyConnections) or REST batch requests."`
	// AblyConnections is how many realtime connections each node publishes over.
	AblyConnections int `yaml:"ablyConnections" min:"1" max:"16" doc:"Realtime connections each node spreads its channels over (a channel always uses the same one, keeping its order); more relieve the single socket's ACK queue at many channels, and real Ably limits each connection to 50 msg/s (each counts toward the account's connection limit)."`
	// HealthAddr is where /health and /metrics are served.
	HealthAddr string `yaml:"healthAddr" doc:"host:port of /health and /metrics; a free port is used when it is taken."`
	// Nodes is how many connector nodes run in this process.
	Nodes int `yaml:"nodes" min:"1" max:"64" doc:"Connector nodes run by this process."`
	// JournalSize is how many rows each node's journal keeps (0 = off).
	JournalSize int `yaml:"journalSize" min:"0" max:"10000000" doc:"Rows each connector node keeps in its row journal for outbox trace (about 140 bytes each); 0 turns the journal off."`
}

// Retry bounds an exponential backoff.
type Retry struct {
	// Min is the first delay.
	Min time.Duration `yaml:"min" doc:"First retry delay."`
	// Max is the longest delay.
	Max time.Duration `yaml:"max" doc:"Longest retry delay."`
}

// Sandbox says how local databases are provided.
type Sandbox struct {
	// Backend picks how Postgres is run; auto tries them in order.
	Backend string `yaml:"backend" enum:"auto|external|compose|native|embedded" doc:"How Postgres is run; auto tries external, compose, native, embedded in order."`
	// PostgresPort is the local port; 0 picks a free one.
	PostgresPort int `yaml:"postgresPort" min:"0" max:"65535" doc:"Local Postgres port; 0 = a free port."`
	// PostgresVersion is the major version for the compose and embedded backends.
	PostgresVersion string `yaml:"postgresVersion" doc:"Postgres major version for the compose and embedded backends."`
	// EmbeddedRepository is the Maven repository embedded-postgres downloads
	// its server binaries from.
	EmbeddedRepository string `yaml:"embeddedRepository" doc:"Maven repository the embedded backend downloads Postgres binaries (zonky jars) from; point it at a mirror when offline."`
	// Indexes creates the dashboard's partial indexes on the outbox.
	Indexes bool `yaml:"indexes" doc:"Create the partial indexes that keep dashboard queries fast on large outboxes."`
	// Mongo says whether the sandbox provides MongoDB.
	Mongo string `yaml:"mongo" enum:"auto|off" doc:"MongoDB for the Mongo connector: auto tries mongo.url, compose (single-node replica set), then a native mongod; off never starts one."`
}

// Ably says where messages are published.
type Ably struct {
	// Key is a real Ably API key; "" uses the local endpoint.
	Key string `yaml:"key" secret:"true" doc:"Ably API key (appId.keyId:secret); empty = the local endpoint. Prefer env ABLY_API_KEY; never commit a key."`
	// Local configures the built-in Ably-compatible endpoint.
	Local AblyLocal `yaml:"local" doc:"The built-in Ably-compatible endpoint."`
}

// AblyLocal configures the built-in Ably-compatible endpoint.
type AblyLocal struct {
	// Addr is the listen address; port 0 picks a free port.
	Addr string `yaml:"addr" doc:"Listen host:port; port 0 = a free port. Use an IP or localhost (SDKs treat a dot-less name as a routing policy)."`
	// DedupeWindow is how long message ids are remembered for idempotency.
	DedupeWindow time.Duration `yaml:"dedupeWindow" doc:"How long published message ids are remembered for idempotent publish (Ably: 2m)."`
	// HistoryLimit is the number of messages kept per channel.
	HistoryLimit int `yaml:"historyLimit" min:"1" max:"10000000" doc:"Messages kept in history per channel."`
	// HistoryTTL is how long history is kept.
	HistoryTTL time.Duration `yaml:"historyTTL" doc:"How long history is kept."`
	// Limits enables Ably's rate and size limits when set to "ably".
	Limits string `yaml:"limits" enum:"|ably" doc:"Empty = no limits; ably = enforce Ably's message size and rate limits."`
	// MaxIdleInterval is the heartbeat interval promised to realtime clients.
	MaxIdleInterval time.Duration `yaml:"maxIdleInterval" doc:"Heartbeat interval promised to realtime clients."`
	// MaxQueuedBytes bounds each realtime connection's unsent outbound
	// frames; a client further behind is disconnected with 80020.
	MaxQueuedBytes int `yaml:"maxQueuedBytes" min:"1024" max:"1073741824" doc:"Bytes of unsent messages a realtime client may fall behind by before the endpoint disconnects it as a slow consumer (DISCONNECTED 80020)."`
	// ConnectionStateTTL is how long a dropped realtime connection can be
	// resumed or recovered.
	ConnectionStateTTL time.Duration `yaml:"connectionStateTTL" doc:"How long a realtime client whose transport dropped can resume or recover its connection and get the messages it missed; advertised as connectionStateTtl (Ably: 2m)."`
	// Faults are fault rules the endpoint applies from its start.
	Faults []fault.Rule `yaml:"faults" doc:"Fault rules in force from the endpoint's start (sandbox up, up, ably serve; sandbox up also adds missing ones to a running endpoint), as 'livesync-dev fault add' makes them: a list of {channel, and one of code, delayAck, drop (+ every), refuseConnections (+ for), rate; optional for}, e.g. [{channel: 'demo:*', code: 40160}]."`
}

// Dashboard configures the terminal dashboard.
type Dashboard struct {
	// Refresh is the snapshot period.
	Refresh time.Duration `yaml:"refresh" doc:"How often panels refresh."`
	// Theme is the colour theme.
	Theme string `yaml:"theme" enum:"default|light|mono" doc:"Colour theme."`
	// Mouse enables mouse input.
	Mouse bool `yaml:"mouse" doc:"Enable mouse input."`
	// StuckThreshold is the age after which a pending row counts as stuck.
	StuckThreshold time.Duration `yaml:"stuckThreshold" doc:"Age after which a pending row is shown as stuck."`
	// Readonly disables every action that writes.
	Readonly bool `yaml:"readonly" doc:"Disable inserts and row actions."`
	// TailBuffer is the number of channel messages kept on screen.
	TailBuffer int `yaml:"tailBuffer" min:"1" max:"1000000" doc:"Channel messages kept in the live tail."`
	// Keys remaps actions to keys; actions not listed keep their default key.
	Keys map[string]string `yaml:"keys" doc:"Key remapping: action name -> key (e.g. quit: q); unlisted actions keep their defaults."`
}

// Default returns the built-in configuration. Each call returns fresh slices
// and maps.
func Default() Config {
	return Config{
		Postgres: Postgres{
			OutboxTableSchema: "public",
			OutboxTableName:   "outbox",
			NodesTableSchema:  "public",
			NodesTableName:    "nodes",
			SSLMode:           "prefer",
		},
		Mongo: Mongo{
			Database:                 "livesync",
			Collection:               "events",
			Pipeline:                 `[{"$set":{"_ablyChannel":{"$concat":["mongo:","$ns.coll"]}}}]`,
			FullDocument:             "off",
			FullDocumentBeforeChange: "off",
			DataEncoding:             "relaxed",
			CheckpointInterval:       time.Second,
		},
		Connector: Connector{
			PollInterval:             time.Second,
			SafetyPoll:               2 * time.Second,
			Debounce:                 "leading",
			HeartbeatTimeout:         15 * time.Second,
			LockTTL:                  30 * time.Second,
			FenceAhead:               4,
			BatchSize:                100,
			Retry:                    Retry{Min: 100 * time.Millisecond, Max: 30 * time.Second},
			CompletionFlush:          50 * time.Millisecond,
			StatementTimeout:         30 * time.Second,
			LockTimeout:              5 * time.Second,
			IdleInTransactionTimeout: 10 * time.Second,
			PermanentCodes:           []int{40009, 40010, 40160},
			PublishMode:              "realtime",
			AblyConnections:          4,
			HealthAddr:               "127.0.0.1:2259",
			Nodes:                    1,
			JournalSize:              100000,
		},
		Sandbox: Sandbox{
			Backend:            "auto",
			PostgresVersion:    "16",
			EmbeddedRepository: "https://repo1.maven.org/maven2",
			Indexes:            true,
			Mongo:              "auto",
		},
		Ably: Ably{
			Local: AblyLocal{
				Addr:               "127.0.0.1:0",
				DedupeWindow:       2 * time.Minute,
				HistoryLimit:       10000,
				HistoryTTL:         24 * time.Hour,
				MaxIdleInterval:    15 * time.Second,
				MaxQueuedBytes:     8 << 20,
				ConnectionStateTTL: 2 * time.Minute,
				Faults:             []fault.Rule{},
			},
		},
		Dashboard: Dashboard{
			Refresh:        time.Second,
			Theme:          "default",
			StuckThreshold: 30 * time.Second,
			TailBuffer:     1000,
			Keys:           map[string]string{},
		},
	}
}
