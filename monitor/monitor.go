// Package monitor is the read side of livesync-dev: one-call snapshots of an
// outbox (backlog, ages, leases, trigger, table health, rates, warnings), a
// diagnosis of rows that are not moving, keyset pages of rows for the
// dashboard's virtual table, transactional row actions (retry, delete,
// insert) and a live tail of Ably channels.
//
// Every time comes from the database clock: expiry and lock_expiry are
// timestamps without time zone holding UTC and are compared with
// now() AT TIME ZONE 'utc'. The monitor never imports a UI package; the
// dashboard and the commands both call it.
package monitor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/livesync-dev/livesync-dev/schema"
)

// DB is what the monitor needs from Postgres; *pgx.Conn and *pgxpool.Pool
// satisfy it. Connections must use session time zone UTC (dbconn does).
type DB interface {
	// Query runs a query that returns rows.
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	// QueryRow runs a query that returns at most one row.
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	// Exec runs a statement.
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	// Begin starts a transaction.
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Options configure a Monitor. The zero value watches public.outbox and
// public.nodes with no connector of ours.
type Options struct {
	// Names locate the outbox and nodes tables.
	Names schema.Names
	// Role is the connector's role for the trigger/grant checks ("" =
	// schema.DefaultRole).
	Role string
	// OwnNodes are the node ids of connectors this process (or this
	// sandbox) runs; they are marked own in snapshots.
	OwnNodes []string
	// Connector reports per-channel publish errors; nil when no connector of
	// ours runs (publish failures then cannot be known).
	Connector ConnectorStates
	// ReadOnly refuses every write (retry, delete, insert).
	ReadOnly bool
	// SafetyPoll is the connector's slow poll (connector.safetyPoll), named
	// when the notify trigger is missing; default 2s.
	SafetyPoll time.Duration
	// StuckAfter is how long an unlocked head row may wait before it is
	// reported as waiting; default 30s.
	StuckAfter time.Duration
	// LockTTL is the connector's lock duration, used to date a claimed row
	// from its lock_expiry; default 30s (the spec's sandbox choice).
	LockTTL time.Duration
	// TopChannels bounds the per-channel backlog list; default 20.
	TopChannels int
	// MaxStuck bounds the stuck list; default 100.
	MaxStuck int
	// ExactRowLimit: without the recommended indexes, counts stay exact
	// while the table's estimated size is at most this many rows (default
	// 100,000); negative means always estimate.
	ExactRowLimit int
	// ExactCountCap bounds how many rows an exact count reads (default
	// 10,000); a larger count is reported as at least the cap.
	ExactCountCap int
	// Faults lists the fault rules in force on the local endpoint, shown in
	// every snapshot; nil for real Ably.
	Faults FaultLister
}

// DefaultCountCap is the default ExactCountCap.
const DefaultCountCap = 10000

// exactCountCap is ExactCountCap with its default.
func (o Options) exactCountCap() int {
	if o.ExactCountCap <= 0 {
		return DefaultCountCap
	}
	return o.ExactCountCap
}

// exactRowLimit is ExactRowLimit with its default.
func (o Options) exactRowLimit() int {
	if o.ExactRowLimit == 0 {
		return 100000
	}
	return o.ExactRowLimit
}

// fillNames fills empty names with schema.DefaultNames.
func fillNames(n schema.Names) schema.Names { return n.WithDefaults() }

// Monitor watches one outbox. It is safe for concurrent use; it remembers
// when it first saw each pending row and successive maxima for the rates.
type Monitor struct {
	db   DB
	opts Options

	mu        sync.Mutex
	firstSeen map[int64]time.Time
	samples   []sample
	highWater highWater

	triggerState TriggerState
	triggerAt    time.Time
}

// New returns a Monitor over db.
func New(db DB, opts Options) *Monitor {
	if opts.Role == "" {
		opts.Role = schema.DefaultRole
	}
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = 30 * time.Second
	}
	if opts.SafetyPoll <= 0 {
		opts.SafetyPoll = 2 * time.Second
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 30 * time.Second
	}
	if opts.TopChannels <= 0 {
		opts.TopChannels = 20
	}
	if opts.MaxStuck <= 0 {
		opts.MaxStuck = 100
	}
	return &Monitor{db: db, opts: opts, firstSeen: map[int64]time.Time{}}
}

// Names returns the table names the monitor watches.
func (m *Monitor) Names() schema.Names { return m.opts.Names }

// ErrReadOnly is returned by every write when the monitor is read-only.
var ErrReadOnly = errors.New("read-only: writes are disabled (--readonly, or an external database without --allow-writes)")

// ErrNoOutbox is returned when the outbox table does not exist.
var ErrNoOutbox = errors.New("the outbox table does not exist")

// nowSQL is the database clock in UTC, comparable with expiry and lock_expiry.
const nowSQL = "(now() AT TIME ZONE 'utc')"

// isUndefinedTable reports a missing relation (SQLSTATE 42P01).
func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

// isPermissionDenied reports SQLSTATE 42501.
func isPermissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}

// utc normalises a timestamp without time zone (scanned as UTC by pgx) to UTC.
func utc(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
