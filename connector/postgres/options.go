package postgres

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/schema"
)

// Publish modes.
const (
	// PublishRealtime publishes over ably-go realtime connections
	// (AblyConnections per node).
	PublishRealtime = "realtime"
	// PublishRESTBatch gathers the heads of up to 100 channels into one REST
	// batch publish request (POST /messages), one message per BatchSpec.
	PublishRESTBatch = "rest-batch"
)

// DefaultFenceAhead is how many queued rows have their lock check
// requested early unless FenceAhead says otherwise. Measured on the 2-core
// machine (bench, 20 channels): 1 row left the workers waiting for checks
// 35% of their time; 2 rows +18% drain over 1, 4 rows +10% over 2.
const DefaultFenceAhead = 4

// DefaultAblyConnections is how many realtime connections a node publishes
// over unless AblyConnections says otherwise.
const DefaultAblyConnections = 4

// Debounce modes.
const (
	// DebounceLeading acts on the first notification at once and coalesces
	// the rest within PollInterval.
	DebounceLeading = "leading"
	// DebounceTrailing waits PollInterval after the first notification.
	DebounceTrailing = "trailing"
)

// AblyDedupeWindow is how long Ably remembers message ids for idempotent
// publishing. A row re-published later than this after its first publish is
// delivered twice, so lock and retry timings must fit inside it.
const AblyDedupeWindow = 120 * time.Second

// Options configure a connector node. Zero fields take the defaults listed
// (the values of livesync.yaml's connector section).
type Options struct {
	// DatabaseURL connects as the connector role (required).
	DatabaseURL string
	// Names locate the outbox and nodes tables (default public.outbox, public.nodes).
	Names schema.Names
	// Ably are the ably-go options of the endpoint: key, host, port, TLS (required).
	Ably []ably.ClientOption
	// RealAbly paces publishing to 50 msg/s per channel and per connection.
	RealAbly bool

	// PollInterval is the fixed-rate period and the debounce window (1s).
	PollInterval time.Duration
	// PollFixedRate polls every PollInterval instead of LISTEN/NOTIFY.
	PollFixedRate bool
	// SafetyPoll is the slow poll in LISTEN mode (2s).
	SafetyPoll time.Duration
	// Debounce is "leading" (default) or "trailing".
	Debounce string
	// HeartbeatTimeout is how far ahead a node pushes its expiry (15s); it
	// heartbeats every third of it.
	HeartbeatTimeout time.Duration
	// LockTTL is how long a claim or extension locks rows (30s).
	LockTTL time.Duration
	// BatchSize is the most rows one claim takes (100, 1..1000).
	BatchSize int
	// RetryMin and RetryMax bound the exponential backoff (100ms, 30s).
	RetryMin, RetryMax time.Duration
	// CompletionFlush bounds how long an ACKed row waits to be completed
	// (50ms; a full batch is completed at once). performance-anchors §3:
	// do not hold completions back more than ~50 ms; at 250 ms the
	// ACK → complete stage had a p50 of 76 ms at 500 rows/s, at 100 ms 51 ms,
	// and a drain's last rows waited up to that long to leave the table.
	CompletionFlush time.Duration
	// StatementTimeout, LockTimeout and IdleInTransactionTimeout are the
	// connector connections' statement_timeout, lock_timeout and
	// idle_in_transaction_session_timeout (30s, 5s, 10s): no query waits
	// for ever, completion waits on another node's completion at most
	// LockTimeout, and a node stopped inside a transaction (SIGSTOP, a
	// debugger) loses it, and the locks it holds, after
	// IdleInTransactionTimeout.
	StatementTimeout, LockTimeout, IdleInTransactionTimeout time.Duration
	// PermanentCodes are Ably error codes that block a channel instead of
	// being retried (40009, 40010, 40160).
	PermanentCodes []int
	// RetainProcessed keeps published rows (processed = true) instead of deleting them.
	RetainProcessed bool
	// PublishMode is "realtime" (default) or "rest-batch".
	PublishMode string
	// AblyConnections is how many realtime connections the node spreads its
	// channels over (DefaultAblyConnections, 1..16); each channel always
	// uses the same one. Unused in rest-batch mode.
	AblyConnections int
	// HealthAddr is where /health, /metrics and /debug/state listen
	// ("127.0.0.1:2259"; when taken, a free port, logged). "-" disables.
	HealthAddr string
	// StateDir, when set, is the .livesync folder: each node writes
	// nodes/<id>.json there with its health address, removed on shutdown.
	StateDir string
	// Profile serves net/http/pprof under /debug/pprof/ on the health
	// address and switches block and mutex profiling on (off by default).
	Profile bool
	// LazyFence skips the lock extension before a first attempt when the
	// row's lock was set or extended less than lockTTL/3 ago (retries always
	// extend). By default (false) every attempt is fenced: the row's lock is
	// extended first (batched across channels, and overlapped with the
	// previous row's ACK) and a row whose lock could not be extended is never
	// sent. Either way no row is sent after its lock's deadline (set time +
	// lockTTL − lockTTL/5). Lazy fencing saves one row write per message
	// (about 13k vs 8-9k rows/s here) at the cost of not noticing a lock that
	// was cleared by hand (outbox retry --force) within that window.
	LazyFence bool
	// FenceAhead is how many rows queued behind the one awaiting its ACK
	// have their lock check requested early (DefaultFenceAhead when 0,
	// none when negative, at most 16). Each attempt still waits for its own
	// check; asked early, the check is ready when the previous row's ACK
	// comes, instead of the channel waiting a fence round after every ACK.
	// A lock cleared by hand while the checks were in flight is noticed up
	// to FenceAhead rows later than with none. Ignored with LazyFence.
	FenceAhead int
	// SynchronousCommit leaves the server's synchronous_commit on the
	// connector's sessions. By default (false) they set it off: claims, lock
	// checks and completions commit without waiting for the WAL flush. At
	// 500 rows/s on the 2-core machine that took NOTIFY → claim from 2.2-2.8
	// to 0.8-0.9 ms (p50) and 12-16 to 6-8 ms (p99), commit → subscriber p99
	// from 28-51 to 24-28 ms. A Postgres crash can lose the last ~3 x
	// wal_writer_delay of those commits: lost claims and completions only
	// make rows be published again (same message ids, deduplicated by Ably
	// within 2 minutes); a lost lock extension is found by the next check,
	// which reads the lock back from the restarted server.
	SynchronousCommit bool
	// Nodes is how many nodes RunNodes starts in this process (1).
	Nodes int
	// JournalSize is how many rows each node's journal keeps (see
	// Node.Journeys; connector.DefaultJournalSize); negative turns it off.
	JournalSize int

	// Logger receives the connector's logs (default: discard).
	Logger *slog.Logger
	// Events receives the typed event stream (default: a private Bus).
	Events *connector.Bus
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.PollInterval, time.Second)
	def(&o.SafetyPoll, 2*time.Second)
	def(&o.HeartbeatTimeout, 15*time.Second)
	def(&o.LockTTL, 30*time.Second)
	def(&o.RetryMin, 100*time.Millisecond)
	def(&o.RetryMax, 30*time.Second)
	def(&o.CompletionFlush, 50*time.Millisecond)
	def(&o.StatementTimeout, 30*time.Second)
	def(&o.LockTimeout, 5*time.Second)
	def(&o.IdleInTransactionTimeout, 10*time.Second)
	if o.Debounce == "" {
		o.Debounce = DebounceLeading
	}
	if o.BatchSize == 0 {
		o.BatchSize = 100
	}
	if o.PermanentCodes == nil {
		o.PermanentCodes = []int{40009, 40010, 40160}
	}
	if o.PublishMode == "" {
		o.PublishMode = PublishRealtime
	}
	if o.AblyConnections == 0 {
		o.AblyConnections = DefaultAblyConnections
	}
	if o.FenceAhead == 0 {
		o.FenceAhead = DefaultFenceAhead
	} else if o.FenceAhead < 0 {
		o.FenceAhead = -1
	}
	if o.HealthAddr == "" {
		o.HealthAddr = "127.0.0.1:2259"
	}
	if o.Nodes == 0 {
		o.Nodes = 1
	}
	if o.JournalSize == 0 {
		o.JournalSize = connector.DefaultJournalSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Events == nil {
		o.Events = &connector.Bus{}
	}
	return o
}

// Validate fills defaults and refuses invalid values and combinations with
// an error naming the option and the fix.
func (o Options) Validate() (Options, error) {
	o = o.withDefaults()
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if o.DatabaseURL == "" {
		add("DatabaseURL is empty: the connector needs the outbox database")
	}
	for name, d := range map[string]time.Duration{"pollInterval": o.PollInterval, "safetyPoll": o.SafetyPoll,
		"heartbeatTimeout": o.HeartbeatTimeout, "lockTTL": o.LockTTL, "retry.min": o.RetryMin,
		"retry.max": o.RetryMax, "completionFlush": o.CompletionFlush, "statementTimeout": o.StatementTimeout,
		"lockTimeout": o.LockTimeout, "idleInTransactionTimeout": o.IdleInTransactionTimeout} {
		if d < 0 {
			add("%s is negative (%s)", name, d)
		}
	}
	if o.FenceAhead > 16 {
		add("fenceAhead %d is out of range: use 0..16", o.FenceAhead)
	}
	if o.BatchSize < 1 || o.BatchSize > 1000 {
		add("batchSize %d is out of range: use 1..1000", o.BatchSize)
	}
	if o.RetryMin > o.RetryMax {
		add("retry.min %s exceeds retry.max %s", o.RetryMin, o.RetryMax)
	}
	if sum := o.LockTTL + o.SafetyPoll + o.RetryMax; sum >= AblyDedupeWindow {
		add("lockTTL (%s) + safetyPoll (%s) + retry.max (%s) = %s must stay under Ably's %s dedupe window, or a row re-published by another node after a crash is delivered twice: lower them",
			o.LockTTL, o.SafetyPoll, o.RetryMax, sum, AblyDedupeWindow)
	}
	if o.LockTTL < 2*o.HeartbeatTimeout/3 {
		add("lockTTL (%s) must be at least two heartbeat periods (2 × heartbeatTimeout/3 = %s): locks are extended on heartbeat", o.LockTTL, 2*o.HeartbeatTimeout/3)
	}
	if o.CompletionFlush >= o.LockTTL/2 {
		add("completionFlush (%s) must be under half of lockTTL (%s)", o.CompletionFlush, o.LockTTL)
	}
	if o.LockTimeout > o.StatementTimeout {
		add("lockTimeout (%s) exceeds statementTimeout (%s): a lock wait is bounded by both; lower lockTimeout", o.LockTimeout, o.StatementTimeout)
	}
	if o.Debounce != DebounceLeading && o.Debounce != DebounceTrailing {
		add("debounce %q is unknown: use \"leading\" or \"trailing\"", o.Debounce)
	}
	switch o.PublishMode {
	case PublishRealtime, PublishRESTBatch:
	default:
		add("publishMode %q is unknown: use \"realtime\" or \"rest-batch\"", o.PublishMode)
	}
	if o.AblyConnections < 1 || o.AblyConnections > 16 {
		add("ablyConnections %d is out of range: use 1..16", o.AblyConnections)
	}
	if o.Nodes < 1 || o.Nodes > 64 {
		add("nodes %d is out of range: use 1..64", o.Nodes)
	}
	if len(errs) > 0 {
		return o, errors.New("invalid connector options:\n  " + strings.Join(errs, "\n  "))
	}
	return o, nil
}

// sessionParams are the Postgres settings of every connector connection.
// jit is off: the claim's generic plan is estimated far above
// jit_above_cost on a large backlog, and compiling it took ~55 ms per
// claim (a claim itself runs in 5-10 ms), 15% of Postgres' time in a drain.
// random_page_cost is 1.1 (server default 4): the outbox a connector works
// on is in shared buffers, and at 4 the claim's per-channel prefix check
// walked the sequence_id index past every other channel's rows (316 rows
// per channel at 20 channels) instead of using (channel, sequence_id):
// claims took 9.7 ms on average in a 20-channel drain, 5.0-6.3 ms after.
// plan_cache_mode is force_generic_plan: with the default (auto) Postgres
// judged the fence's generic plan dearer than a custom one and planned the
// fence afresh on every call (0.4 ms of planning for a 0.2 ms statement,
// pg_stat_statements: 800 plans per 800 calls in a 20,000-row drain), and
// the custom plan ran slower too (0.67 vs 0.21 ms); claims and completions
// already ran on their generic plans after their fifth call.
// synchronous_commit is off unless SynchronousCommit (see there).
func (o *Options) sessionParams() map[string]string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }
	p := map[string]string{"statement_timeout": ms(o.StatementTimeout), "lock_timeout": ms(o.LockTimeout),
		"idle_in_transaction_session_timeout": ms(o.IdleInTransactionTimeout), "jit": "off",
		"random_page_cost": "1.1", "plan_cache_mode": "force_generic_plan"}
	if !o.SynchronousCommit {
		p["synchronous_commit"] = "off"
	}
	return p
}

// permanent reports whether code blocks a channel.
func (o *Options) permanent(code int) bool {
	for _, c := range o.PermanentCodes {
		if c == code {
			return true
		}
	}
	return false
}

// fenceMargin is how long before a lock's expiry the node stops sending
// rows under it.
func (o *Options) fenceMargin() time.Duration { return o.LockTTL / 5 }

// fenceExtendBelow is the remaining lock time under which a fence extends
// a lock instead of only reading it: a lock is pushed forward once a
// third of its TTL has passed, so every attempt still starts with at
// least two thirds of the TTL left, less the margin.
func (o *Options) fenceExtendBelow() time.Duration { return o.LockTTL * 2 / 3 }
