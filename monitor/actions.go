package monitor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// OutboxActionParams choose the rows of a retry or delete: by ids, or (when
// IDs is empty and ByFilter is set) every row matching the filter.
type OutboxActionParams struct {
	// IDs are the sequence ids; every one must exist.
	IDs []int64
	// ByFilter acts on every row matching Filter, Channel and Text.
	ByFilter bool
	// Filter, Channel and Text are as in OutboxListParams.
	Filter  Filter
	Channel string
	Text    string
	// Force overrides the safety refusals.
	Force bool
}

// ActionResult says what a row action did.
type ActionResult struct {
	// Action is "retry" or "delete".
	Action string `json:"action"`
	// SQL is the statement that ran (ids inlined), as shown beforehand.
	SQL string `json:"sql"`
	// SequenceIDs are the rows changed.
	SequenceIDs []int64 `json:"sequenceIds"`
	// Claimed are rows a retry left alone: a live node holds them and is
	// publishing them (freeing the lock could publish twice; Force frees
	// it anyway).
	Claimed []int64 `json:"claimed,omitempty"`
	// Unblocked are the retried rows that had stopped their channel
	// (blocked or publish-failing): the connector tries them again now.
	Unblocked []Stuck `json:"unblocked,omitempty"`
}

// ErrMissingRows is wrapped by errors naming ids that do not exist.
var ErrMissingRows = errors.New("no such outbox row")

// ErrRefused is wrapped by refusals that Force overrides.
var ErrRefused = errors.New("refused")

// ErrPermission is wrapped when the role may not write the outbox.
var ErrPermission = errors.New("permission denied")

// target returns the condition selecting the action's rows, with $n
// placeholders, and its args: ids ($1) or a filter subquery.
func (m *Monitor) target(p OutboxActionParams) (string, []any, error) {
	if len(p.IDs) > 0 || !p.ByFilter {
		return "sequence_id = ANY($1)", []any{p.IDs}, nil
	}
	where, args, err := m.where(p.Filter, p.Channel, p.Text, nil)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("sequence_id IN (SELECT sequence_id FROM %s %s)", m.opts.Names.Outbox(), where), args, nil
}

// statement returns the action's SQL with $n placeholders and its args.
func (m *Monitor) statement(action string, p OutboxActionParams) (string, []any, error) {
	o := m.opts.Names.Outbox()
	target, args, err := m.target(p)
	if err != nil {
		return "", nil, err
	}
	switch action {
	case "retry":
		return fmt.Sprintf("UPDATE %s SET locked_by = NULL, lock_expiry = NULL WHERE %s RETURNING sequence_id", o, target), args, nil
	case "delete":
		return fmt.Sprintf("DELETE FROM %s WHERE %s RETURNING sequence_id", o, target), args, nil
	}
	return "", nil, fmt.Errorf("unknown action %q", action)
}

// placeholder matches $n in a statement.
var placeholder = regexp.MustCompile(`\$(\d+)`)

// OutboxActionSQL returns the SQL a retry or delete will run, with the
// arguments inlined, so it can be shown before asking.
func (m *Monitor) OutboxActionSQL(action string, p OutboxActionParams) (string, error) {
	stmt, args, err := m.statement(action, p)
	if err != nil {
		return "", err
	}
	return placeholder.ReplaceAllStringFunc(stmt, func(s string) string {
		n, _ := strconv.Atoi(s[1:])
		switch v := args[n-1].(type) {
		case []int64:
			parts := make([]string, len(v))
			for i, id := range v {
				parts[i] = strconv.FormatInt(id, 10)
			}
			return "ARRAY[" + strings.Join(parts, ", ") + "]::bigint[]"
		case string:
			return "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return s
	}) + ";", nil
}

// OutboxRetry clears locked_by and lock_expiry so any live node may claim
// the rows again. A row locked by a live node is left alone unless Force
// (it is being published; freeing it could publish it twice) and listed
// in Claimed. There is no "un-reject": rejected is data.
// Retrying a row that blocked its channel releases it to the connector,
// which re-checks blocked rows at every heartbeat and tries it again; such
// rows are listed in Unblocked.
func (m *Monitor) OutboxRetry(ctx context.Context, p OutboxActionParams) (ActionResult, error) {
	var heads []Stuck
	if m.opts.Connector != nil && !m.opts.ReadOnly {
		if snap, err := m.Snapshot(ctx); err == nil {
			for _, st := range snap.Stuck {
				if st.Reason == Blocked || st.Reason == PublishFailing {
					heads = append(heads, st)
				}
			}
		}
	}
	res, err := m.act(ctx, "retry", p)
	if err != nil {
		return res, err
	}
	retried := map[int64]bool{}
	for _, id := range res.SequenceIDs {
		retried[id] = true
	}
	for _, st := range heads {
		if retried[st.SequenceID] {
			res.Unblocked = append(res.Unblocked, st)
		}
	}
	return res, nil
}

// OutboxDelete deletes the rows. Refused unless Force for the tombstone row
// (sync endpoints read MAX(sequence_id) from it).
func (m *Monitor) OutboxDelete(ctx context.Context, p OutboxActionParams) (ActionResult, error) {
	return m.act(ctx, "delete", p)
}

// targetRow is a row an action is about to change.
type targetRow struct {
	id        int64
	lockedBy  *string
	liveOwner bool
	processed bool
}

// act runs one action in a transaction: lock the target rows, check they
// all exist and may be changed, change them, commit.
func (m *Monitor) act(ctx context.Context, action string, p OutboxActionParams) (ActionResult, error) {
	res := ActionResult{Action: action, SequenceIDs: []int64{}}
	if m.opts.ReadOnly {
		return res, ErrReadOnly
	}
	if len(p.IDs) == 0 && !p.ByFilter {
		return res, fmt.Errorf("%s: no rows given", action)
	}
	var err error
	if res.SQL, err = m.OutboxActionSQL(action, p); err != nil {
		return res, err
	}
	stmt, args, _ := m.statement(action, p)
	tx, err := m.db.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	target, _, _ := m.target(p)
	q := fmt.Sprintf(`SELECT sequence_id, locked_by,
  locked_by IS NOT NULL AND lock_expiry > %[2]s AND EXISTS (SELECT 1 FROM %[3]s n WHERE n.id = locked_by AND n.expiry > %[2]s),
  processed
FROM %[1]s WHERE %[4]s ORDER BY sequence_id FOR UPDATE`, m.opts.Names.Outbox(), nowSQL, m.opts.Names.Nodes(), target)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return res, m.explainWrite(action, err)
	}
	targets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (targetRow, error) {
		var t targetRow
		return t, r.Scan(&t.id, &t.lockedBy, &t.liveOwner, &t.processed)
	})
	if err != nil {
		return res, m.explainWrite(action, err)
	}
	if err := checkTargets(action, p, targets); err != nil {
		return res, err
	}
	if action == "retry" && !p.Force {
		// A row a live node holds is being published: leave it with that
		// node (freeing its lock could publish it twice) and say so.
		var free []int64
		for _, t := range targets {
			if t.liveOwner {
				res.Claimed = append(res.Claimed, t.id)
			} else {
				free = append(free, t.id)
			}
		}
		if len(res.Claimed) > 0 {
			stmt, args, _ = m.statement(action, OutboxActionParams{IDs: free})
		}
		if len(free) == 0 {
			return res, nil
		}
	}
	rows, err = tx.Query(ctx, stmt, args...)
	if err != nil {
		return res, m.explainWrite(action, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return res, m.explainWrite(action, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, m.explainWrite(action, err)
	}
	res.SequenceIDs = append(res.SequenceIDs, ids...)
	return res, nil
}

// checkTargets names missing ids and refuses unsafe changes unless forced.
func checkTargets(action string, p OutboxActionParams, targets []targetRow) error {
	found := map[int64]bool{}
	for _, t := range targets {
		found[t.id] = true
	}
	var missing []string
	for _, id := range p.IDs {
		if !found[id] {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s (nothing was changed)", ErrMissingRows, strings.Join(missing, ", "))
	}
	if p.Force {
		return nil
	}
	var reasons []string
	for _, t := range targets {
		switch {
		case action == "delete" && t.processed:
			reasons = append(reasons, fmt.Sprintf("row %d is the processed tombstone: sync endpoints read MAX(sequence_id) from it, and without it clients would replay history", t.id))
		}
	}
	if len(reasons) > 0 {
		return fmt.Errorf("%w: %s; pass --force to %s anyway (nothing was changed)", ErrRefused, strings.Join(reasons, "; "), action)
	}
	return nil
}

// explainWrite turns a permission error into a clear refusal.
func (m *Monitor) explainWrite(action string, err error) error {
	if isPermissionDenied(err) {
		return fmt.Errorf("%w: the database role may not %s rows of %s (%v); connect as a role with UPDATE, DELETE and INSERT on it (`livesync-dev doctor` shows the grants)", ErrPermission, action, m.opts.Names.Outbox(), err)
	}
	if isUndefinedTable(err) {
		return fmt.Errorf("%w: %v (run `livesync-dev doctor` for the SQL that creates it)", ErrNoOutbox, err)
	}
	return err
}
