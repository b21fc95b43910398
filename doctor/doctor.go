// Package doctor checks a Postgres database against what Ably LiveSync needs:
// the outbox and nodes tables and their column types, the notify function and
// its statement-level AFTER INSERT trigger, the connector role and its
// privileges, the recommended partial indexes, track_commit_timestamp, dead
// tuples and the tombstone row. Each finding is a Check with a status and,
// where SQL can repair it, the statements that do.
//
// Every check reads the catalogs or the statistics views (no full-table
// counts), so Run is cheap on a 10-million-row outbox and the monitor can
// call it periodically.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/livesync-dev/livesync-dev/schema"
)

// Status is the outcome of one check.
type Status string

// The statuses a check can have, in increasing severity.
const (
	// OK means the database meets the requirement (Detail may carry a note).
	OK Status = "ok"
	// Warn means LiveSync works, but slower or less safely than it should.
	Warn Status = "warn"
	// Fail means LiveSync will not work correctly until it is fixed.
	Fail Status = "fail"
)

// rank orders statuses by severity.
func (s Status) rank() int {
	switch s {
	case Fail:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// Check is the result of one requirement check.
type Check struct {
	// ID is stable and machine-readable, e.g. "trigger" or "grants.sequence".
	ID string `json:"id"`
	// Title names what was checked, e.g. "trigger on public.outbox".
	Title string `json:"title"`
	// Status is ok, warn or fail.
	Status Status `json:"status"`
	// Detail says what was found and why it matters.
	Detail string `json:"detail"`
	// Fix is SQL that repairs the problem (statements end with ";"); empty
	// when the check passed or no SQL can fix it.
	Fix string `json:"fix"`
}

// Params says which database objects and role to check.
type Params struct {
	// Names locate the outbox and nodes tables; empty fields take the
	// defaults (public.outbox, public.nodes).
	Names schema.Names
	// Role is the role the connector logs in as; empty means
	// schema.DefaultRole.
	Role string
}

// Querier is what Run needs from a connection; *pgx.Conn, *pgxpool.Pool and
// pgx.Tx satisfy it.
type Querier interface {
	// Query runs a query that returns rows.
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	// QueryRow runs a query that returns at most one row.
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Run performs every check and returns them in a fixed order: role, tables,
// trigger and notify function, privileges, indexes, server settings, outbox
// health. Checks that depend on a missing object (the outbox's trigger when
// there is no outbox, the privileges of a missing role) are left out: the
// failing check's Fix covers them. The error is non-nil only when a query
// fails (for example the connection drops).
func Run(ctx context.Context, q Querier, p Params) ([]Check, error) {
	r := &run{ctx: ctx, q: q, names: fill(p.Names), role: p.Role}
	if r.role == "" {
		r.role = schema.DefaultRole
	}
	steps := []func() error{
		r.checkRole,
		r.checkOutbox,
		r.checkNodes,
		r.checkTrigger,
		r.checkGrants,
		r.checkIndexes,
		r.checkCommitTimestamps,
		r.checkDeadTuples,
		r.checkTombstone,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("doctor: %w", err)
		}
	}
	return r.checks, nil
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Count returns how many checks have status s.
func Count(checks []Check, s Status) int {
	n := 0
	for _, c := range checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// run holds one Run's state: the facts earlier checks found decide which
// later checks apply.
type run struct {
	ctx    context.Context
	q      Querier
	names  schema.Names
	role   string
	checks []Check

	roleExists bool
	outboxOID  uint32 // 0 when the outbox is missing
	nodesOID   uint32 // 0 when the nodes table is missing
}

// add records a check.
func (r *run) add(c Check) { r.checks = append(r.checks, c) }

// fill applies the default names to empty fields.
func fill(n schema.Names) schema.Names {
	d := schema.DefaultNames()
	for _, f := range []struct {
		dst *string
		def string
	}{
		{&n.OutboxSchema, d.OutboxSchema}, {&n.OutboxTable, d.OutboxTable},
		{&n.NodesSchema, d.NodesSchema}, {&n.NodesTable, d.NodesTable},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return n
}

// relOID returns a relation's oid, or 0 when it does not exist.
func (r *run) relOID(qualified string) (uint32, error) {
	var oid *uint32
	if err := r.q.QueryRow(r.ctx, "SELECT to_regclass($1)::oid", qualified).Scan(&oid); err != nil {
		return 0, err
	}
	if oid == nil {
		return 0, nil
	}
	return *oid, nil
}

// outboxName and nodesName are the tables as messages show them.
func (r *run) outboxName() string { return r.names.OutboxSchema + "." + r.names.OutboxTable }
func (r *run) nodesName() string  { return r.names.NodesSchema + "." + r.names.NodesTable }

// ident quotes one identifier.
func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// literal quotes a SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlList joins statements into one Fix, each ending with ";".
func sqlList(stmts ...string) string {
	var b strings.Builder
	for i, s := range stmts {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.TrimRight(s, "; \n"))
		b.WriteString(";")
	}
	return b.String()
}

// permissionDenied reports whether err is Postgres' insufficient_privilege.
func permissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}
