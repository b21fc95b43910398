package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Filter selects outbox rows.
type Filter string

// The row filters.
const (
	// AllRows selects every row.
	AllRows Filter = ""
	// PendingRows selects rows not processed.
	PendingRows Filter = "pending"
	// StuckRows selects pending rows whose lock lapsed or is held by a node
	// without a live lease.
	StuckRows Filter = "stuck"
	// RejectedRows selects rejected rows not yet processed.
	RejectedRows Filter = "rejected"
)

// Row is one outbox row as the list and the dashboard show it.
type Row struct {
	// SequenceID is the primary key and the Ably message id.
	SequenceID int64 `json:"sequenceId"`
	// MutationID correlates with the client's optimistic event.
	MutationID string `json:"mutationId"`
	// Channel is the Ably channel.
	Channel string `json:"channel"`
	// Name is the Ably message name.
	Name string `json:"name"`
	// Rejected marks a rejection of the client's mutation (application data).
	Rejected bool `json:"rejected"`
	// Data is the jsonb payload as JSON (null for SQL NULL).
	Data json.RawMessage `json:"data"`
	// Headers is the jsonb headers as JSON (null for SQL NULL).
	Headers json.RawMessage `json:"headers"`
	// LockedBy is the node holding the row, or nil.
	LockedBy *string `json:"lockedBy"`
	// LockExpiry is when the lock lapses (UTC), or nil.
	LockExpiry *time.Time `json:"lockExpiry"`
	// Processed marks the tombstone row.
	Processed bool `json:"processed"`
	// Diagnosis is why the row is not moving (StuckRows lists only).
	Diagnosis *Stuck `json:"diagnosis,omitempty"`
}

// OutboxListParams select one keyset page of rows.
type OutboxListParams struct {
	// After returns rows with sequence_id > After (0: from the start).
	After int64
	// Limit is the page size; default 100, at most 1000.
	Limit int
	// Filter is AllRows, PendingRows, StuckRows or RejectedRows.
	Filter Filter
	// Channel restricts to one channel when not empty.
	Channel string
	// Text keeps rows whose channel, name, mutation id, data or headers
	// contain it (case-insensitive) when not empty.
	Text string
}

// where builds the WHERE clause and arguments for a filter; the clause
// starts with "WHERE". It is shared by the list and the row actions.
func (m *Monitor) where(f Filter, channel, text string, args []any) (string, []any, error) {
	conds := []string{}
	switch f {
	case AllRows:
	case PendingRows:
		conds = append(conds, "NOT processed")
	case RejectedRows:
		conds = append(conds, "rejected AND NOT processed")
	case StuckRows:
		conds = append(conds, fmt.Sprintf(`NOT processed AND lock_expiry IS NOT NULL AND locked_by IS NOT NULL
  AND (lock_expiry <= %[1]s OR locked_by NOT IN (SELECT id FROM %[2]s WHERE expiry > %[1]s))`, nowSQL, m.opts.Names.Nodes()))
	default:
		return "", nil, fmt.Errorf("unknown filter %q: use pending, stuck or rejected", f)
	}
	if channel != "" {
		args = append(args, channel)
		conds = append(conds, fmt.Sprintf("channel = $%d", len(args)))
	}
	if text != "" {
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(text)+"%")
		n := len(args)
		conds = append(conds, fmt.Sprintf("(channel ILIKE $%[1]d OR name ILIKE $%[1]d OR mutation_id ILIKE $%[1]d OR data::text ILIKE $%[1]d OR headers::text ILIKE $%[1]d)", n))
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args, nil
}

// rowColumns select a Row.
const rowColumns = "sequence_id, mutation_id, channel, name, rejected, data, headers, locked_by, lock_expiry, processed"

// OutboxList returns one keyset page: rows with sequence_id > p.After in
// sequence_id order, at most p.Limit. It never loads more than a page.
func (m *Monitor) OutboxList(ctx context.Context, p OutboxListParams) ([]Row, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	if p.Limit > 1000 {
		p.Limit = 1000
	}
	if p.Filter == StuckRows {
		return m.stuckList(ctx, p)
	}
	where, args, err := m.where(p.Filter, p.Channel, p.Text, []any{p.After})
	if err != nil {
		return nil, err
	}
	if where == "" {
		where = "WHERE sequence_id > $1"
	} else {
		where += " AND sequence_id > $1"
	}
	q := fmt.Sprintf("SELECT %s FROM %s %s ORDER BY sequence_id LIMIT %d", rowColumns, m.opts.Names.Outbox(), where, p.Limit)
	rows, err := m.db.Query(ctx, q, args...)
	if err != nil {
		if isUndefinedTable(err) {
			return nil, fmt.Errorf("%w: %v (run `livesync-dev doctor` for the SQL that creates it)", ErrNoOutbox, err)
		}
		return nil, err
	}
	return pgx.CollectRows(rows, scanRow)
}

// scanRow scans rowColumns.
func scanRow(r pgx.CollectableRow) (Row, error) {
	var row Row
	var data, headers []byte
	err := r.Scan(&row.SequenceID, &row.MutationID, &row.Channel, &row.Name, &row.Rejected, &data, &headers,
		&row.LockedBy, &row.LockExpiry, &row.Processed)
	row.Data, row.Headers = jsonOrNull(data), jsonOrNull(headers)
	if row.LockExpiry != nil {
		t := utc(*row.LockExpiry)
		row.LockExpiry = &t
	}
	return row, err
}

// jsonOrNull returns b, or JSON null for SQL NULL.
func jsonOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

// stuckList lists the rows the diagnosis finds stuck (the same reasons as
// Snapshot.Stuck), each with its diagnosis, in sequence_id order.
func (m *Monitor) stuckList(ctx context.Context, p OutboxListParams) ([]Row, error) {
	snap, err := m.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]Stuck{}
	var ids []int64
	for _, st := range snap.Stuck {
		if st.SequenceID > p.After && (p.Channel == "" || st.Channel == p.Channel) {
			byID[st.SequenceID] = st
			ids = append(ids, st.SequenceID)
		}
	}
	where, args, err := m.where(AllRows, "", p.Text, []any{ids})
	if err != nil {
		return nil, err
	}
	if where == "" {
		where = "WHERE sequence_id = ANY($1)"
	} else {
		where += " AND sequence_id = ANY($1)"
	}
	q := fmt.Sprintf("SELECT %s FROM %s %s ORDER BY sequence_id LIMIT %d", rowColumns, m.opts.Names.Outbox(), where, p.Limit)
	rows, err := m.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, scanRow)
	for i := range out {
		st := byID[out[i].SequenceID]
		out[i].Diagnosis = &st
	}
	return out, err
}
