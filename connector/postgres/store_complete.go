package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/connector"
)

// OutboxExtendParams say whose locks to extend.
type OutboxExtendParams struct {
	// Node is the lock holder.
	Node string
	// IDs are the rows to extend.
	IDs []int64
	// LockTTL is the new lock duration from the database's now.
	LockTTL time.Duration
}

// OutboxExtend pushes lock_expiry of the node's rows forward (fencing) and
// returns the rows it still held; a row not returned must not be sent.
func (s *Store) OutboxExtend(ctx context.Context, p OutboxExtendParams) (map[int64]bool, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`UPDATE %s SET lock_expiry = %s + $3::bigint * interval '1 microsecond'
WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2 AND NOT processed RETURNING sequence_id`, s.outbox, sqlNow),
		p.IDs, p.Node, p.LockTTL.Microseconds())
	if err != nil {
		return nil, err
	}
	return idSet(rows)
}

// OutboxFenceParams say which locks to confirm before a publish attempt.
type OutboxFenceParams struct {
	// Node is the lock holder.
	Node string
	// IDs are the rows about to be sent.
	IDs []int64
	// LockTTL is the new lock duration, from the database's now, of a lock
	// that is extended.
	LockTTL time.Duration
	// ExtendBelow is the remaining lock time under which a lock is
	// extended; a lock with more left is only read.
	ExtendBelow time.Duration
}

// OutboxFence is the per-attempt fence: it confirms the node still holds
// ids and returns each held row's remaining lock time (from the
// database's now); a row not returned must not be sent. Locks with less
// than ExtendBelow left are extended to LockTTL; the others are only
// read, so a fence round with nothing to extend writes nothing and waits
// for no WAL flush. Both parts run in one statement on one snapshot: a
// row is either extended or read, never both.
//
// A row another transaction of the node extends while the statement runs
// (the heartbeat's OutboxExtend of queued rows) can be neither: the UPDATE
// re-checks it after that transaction commits and finds nothing left to
// extend, while the read part still sees its old version. So rows missing
// from the answer are asked about once more, on a new snapshot; only rows
// missing twice are reported lost.
func (s *Store) OutboxFence(ctx context.Context, p OutboxFenceParams) (map[int64]time.Duration, error) {
	left := make(map[int64]time.Duration, len(p.IDs))
	if err := s.fenceRound(ctx, p, p.IDs, left); err != nil {
		return nil, err
	}
	if len(left) == len(p.IDs) {
		return left, nil
	}
	var missing []int64
	for _, id := range p.IDs {
		if _, ok := left[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return left, nil // ids held duplicates
	}
	if err := s.fenceRound(ctx, p, missing, left); err != nil {
		return nil, err
	}
	return left, nil
}

// fenceRound runs the fence statement for ids, adding each row it confirms
// to left.
func (s *Store) fenceRound(ctx context.Context, p OutboxFenceParams, ids []int64, left map[int64]time.Duration) error {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`WITH ext AS (
  UPDATE %[1]s SET lock_expiry = %[2]s + $3::bigint * interval '1 microsecond'
  WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2 AND NOT processed
    AND lock_expiry < %[2]s + $4::bigint * interval '1 microsecond'
  RETURNING sequence_id, lock_expiry)
SELECT sequence_id, (extract(epoch FROM lock_expiry - %[2]s) * 1000000)::bigint FROM ext
UNION ALL
SELECT sequence_id, (extract(epoch FROM lock_expiry - %[2]s) * 1000000)::bigint FROM %[1]s
WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2 AND NOT processed
  AND lock_expiry >= %[2]s + $4::bigint * interval '1 microsecond'`, s.outbox, sqlNow),
		ids, p.Node, p.LockTTL.Microseconds(), p.ExtendBelow.Microseconds())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, us int64
		if err := rows.Scan(&id, &us); err != nil {
			return err
		}
		left[id] = time.Duration(us) * time.Microsecond
	}
	return rows.Err()
}

// OutboxReleaseParams say which locks to drop.
type OutboxReleaseParams struct {
	// Node is the lock holder.
	Node string
	// IDs are the rows to release.
	IDs []int64
}

// OutboxRelease clears the node's locks on rows it will not publish now
// and returns the version (xmin) each released row has after it, so a
// later write of the row (`outbox retry`) can be told apart from the
// release itself (OutboxRowVersion.Xmin).
func (s *Store) OutboxRelease(ctx context.Context, p OutboxReleaseParams) (map[int64]uint32, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`UPDATE %s SET locked_by = NULL, lock_expiry = NULL
WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2 AND NOT processed
RETURNING sequence_id, xmin::text::bigint`, s.outbox), p.IDs, p.Node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]uint32, len(p.IDs))
	for rows.Next() {
		var id, xmin int64
		if err := rows.Scan(&id, &xmin); err != nil {
			return nil, err
		}
		out[id] = uint32(xmin)
	}
	return out, rows.Err()
}

// OutboxCompleteParams say which published rows to complete.
type OutboxCompleteParams struct {
	// Node is the lock holder.
	Node string
	// IDs are rows Ably acknowledged.
	IDs []int64
	// Tombstones are rows this node marked processed earlier; those below
	// the table's max are deleted now.
	Tombstones []int64
	// Retain keeps the rows, marked processed, instead of deleting them.
	Retain bool
}

// OutboxComplete finishes published rows in one transaction, serialised
// across nodes by an advisory lock: rows below the table's max sequence_id
// are deleted; the max itself stays with processed = true (the tombstone
// sync endpoints read MAX(sequence_id) from); older tombstones are deleted.
// It returns the rows it left as tombstones.
func (s *Store) OutboxComplete(ctx context.Context, p OutboxCompleteParams) ([]int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if p.Retain {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET processed = true, locked_by = NULL, lock_expiry = NULL
WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2`, s.outbox), p.IDs, p.Node); err != nil {
			return nil, err
		}
		return nil, tx.Commit(ctx)
	}
	if err := lockCompletion(ctx, tx); err != nil {
		return nil, err
	}
	if len(p.IDs) > 0 {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2
  AND sequence_id < (SELECT max(sequence_id) FROM %[1]s)`, s.outbox), p.IDs, p.Node); err != nil {
			return nil, err
		}
	}
	kept, err := queryIDs(ctx, tx, fmt.Sprintf(`UPDATE %s SET processed = true, locked_by = NULL, lock_expiry = NULL
WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2 RETURNING sequence_id`, s.outbox), p.IDs, p.Node)
	if err != nil {
		return nil, err
	}
	if len(kept) > 0 {
		// A new tombstone: delete processed rows just below it, left by
		// nodes that stopped or completed concurrently (a bounded walk down
		// the primary key; farther ones are swept when a node starts or
		// leaves).
		if _, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE processed AND sequence_id IN (
  SELECT sequence_id FROM %[1]s WHERE sequence_id < $1 ORDER BY sequence_id DESC LIMIT $2)`, s.outbox), slices.Max(kept), tombstoneWalk); err != nil {
			return nil, err
		}
	}
	old := append(append([]int64{}, p.Tombstones...), kept...)
	if len(old) > 0 {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE sequence_id = ANY($1::bigint[]) AND processed
  AND sequence_id < (SELECT max(sequence_id) FROM %[1]s)`, s.outbox), old); err != nil {
			return nil, err
		}
	}
	// Which of them are still tombstones?
	var still []int64
	if len(old) > 0 {
		if still, err = queryIDs(ctx, tx, fmt.Sprintf(`SELECT sequence_id FROM %s WHERE sequence_id = ANY($1::bigint[]) AND processed`, s.outbox), old); err != nil {
			return nil, err
		}
	}
	return still, tx.Commit(ctx)
}

// tombstoneWalk is how many rows below a new tombstone a completion checks
// for older tombstones.
const tombstoneWalk = 256

// lockCompletion takes the advisory lock that serialises completions
// across nodes, for the rest of tx. The wait is bounded by the
// connection's lock_timeout (Options.LockTimeout): a node stopped while
// holding it (until idle_in_transaction_session_timeout ends its
// transaction) makes completion fail and be retried, never hang.
func lockCompletion(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClassComplete)
	return err
}

// queryIDs runs a query returning one bigint column.
func queryIDs(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]int64, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// OutboxSweepTombstones deletes every processed row below the table's max
// (tombstones left by nodes that stopped or died) and returns the processed
// rows that remain (the max, when it is processed), so the caller can
// delete them once a higher row is completed. It scans the table, so
// nodes run it at start and when a node leaves, not per completion.
func (s *Store) OutboxSweepTombstones(ctx context.Context) (remaining []int64, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if err := lockCompletion(ctx, tx); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE processed AND sequence_id < (SELECT max(sequence_id) FROM %[1]s)`, s.outbox)); err != nil {
		return nil, err
	}
	if remaining, err = queryIDs(ctx, tx, fmt.Sprintf(`SELECT sequence_id FROM %s WHERE processed`, s.outbox)); err != nil {
		return nil, err
	}
	return remaining, tx.Commit(ctx)
}

// OutboxMaxID is the table's highest sequence_id (0 when empty).
func (s *Store) OutboxMaxID(ctx context.Context) (int64, error) {
	var m int64
	err := s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(max(sequence_id), 0) FROM %s`, s.outbox)).Scan(&m)
	return m, err
}

// idSet collects a one-column bigint result as a set.
func idSet(rows pgx.Rows) (map[int64]bool, error) {
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// OutboxRowVersion is a row's current content and version, as a blocked
// channel's re-check sees it.
type OutboxRowVersion struct {
	// Row is the row's content (data and headers as text).
	connector.Row
	// Xmin is the transaction that wrote this version of the row: any
	// UPDATE (a change of its content, or `outbox retry` clearing its lock)
	// gives it a new one.
	Xmin uint32
}

// OutboxRowVersions returns the unprocessed rows among ids with their
// content and version; a row not returned was deleted or processed.
func (s *Store) OutboxRowVersions(ctx context.Context, ids []int64) (map[int64]OutboxRowVersion, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT sequence_id, xmin::text::bigint, mutation_id, channel, name, rejected, data::text, headers::text
FROM %s WHERE sequence_id = ANY($1::bigint[]) AND NOT processed`, s.outbox), ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]OutboxRowVersion{}
	for rows.Next() {
		var v OutboxRowVersion
		var xmin int64
		var data, headers *string
		if err := rows.Scan(&v.SequenceID, &xmin, &v.MutationID, &v.Channel, &v.Name, &v.Rejected, &data, &headers); err != nil {
			return nil, err
		}
		v.Xmin = uint32(xmin)
		if data != nil {
			v.Data = []byte(*data)
		}
		if headers != nil {
			v.Headers = []byte(*headers)
		}
		out[v.SequenceID] = v
	}
	return out, rows.Err()
}
