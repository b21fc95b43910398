package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/schema"
)

// outbox is the default outbox table, which the throwaway sandbox uses.
var outbox = schema.Names{}.Outbox()

// backlogRowsSQL selects the bench's rows ($1 prefix, $2 rows, $3
// channels): row i on channel prefix+(i % channels), ~150 B of JSON each.
// The drain inserts them and the publish ceiling publishes them, so both
// halves carry the same rows.
const backlogRowsSQL = `SELECT g AS i, $1 || g AS mutation_id, $1 || (g % $3) AS channel, 'bench.row' AS name,
  jsonb_build_object('i', g, 'status', 'shipped', 'amount', 1234, 'note', 'lorem ipsum dolor sit amet consectetur') AS data,
  '{"x-bench":"1"}'::jsonb AS headers
FROM generate_series(1, $2) g`

// insertBacklog inserts the backlog rows in one transaction (one
// statement, one NOTIFY).
func insertBacklog(ctx context.Context, pool *pgxpool.Pool, prefix string, rows, channels int) error {
	_, err := pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (mutation_id, channel, name, data, headers)
SELECT mutation_id, channel, name, data, headers FROM (%s) b`, outbox, backlogRowsSQL), prefix, rows, channels)
	if err != nil {
		return fmt.Errorf("inserting the backlog: %w", err)
	}
	return nil
}

// backlogRows are the backlog rows as the connector reads them from the
// outbox (data and headers as jsonb's text), without inserting them.
func backlogRows(ctx context.Context, pool *pgxpool.Pool, prefix string, rows, channels int) ([]connector.Row, error) {
	q, err := pool.Query(ctx, `SELECT i, mutation_id, channel, name, data::text, headers::text FROM (`+backlogRowsSQL+`) b ORDER BY i`,
		prefix, rows, channels)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(q, func(r pgx.CollectableRow) (connector.Row, error) {
		var row connector.Row
		var data, headers string
		err := r.Scan(&row.SequenceID, &row.MutationID, &row.Channel, &row.Name, &data, &headers)
		row.Data, row.Headers = []byte(data), []byte(headers)
		return row, err
	})
}

// vacuum runs VACUUM ANALYZE on the outbox as the sandbox's superuser.
func vacuum(ctx context.Context, adminURL string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting as the sandbox superuser for VACUUM: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+outbox); err != nil {
		return fmt.Errorf("VACUUM ANALYZE: %w", err)
	}
	return nil
}

// ceilingClaimSQL is the raw claim of performance-anchors §2b: lock the
// next $2 unprocessed, unlocked rows FOR UPDATE SKIP LOCKED, set the lock
// and return them. No per-channel rules, no fencing, no publishing.
var ceilingClaimSQL = fmt.Sprintf(`UPDATE %[1]s SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds'
WHERE sequence_id IN (
  SELECT sequence_id FROM %[1]s
  WHERE NOT processed AND (locked_by IS NULL OR lock_expiry < (now() AT TIME ZONE 'utc'))
  ORDER BY sequence_id LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING sequence_id, mutation_id, channel, name, rejected, data, headers`, outbox)

var ceilingDeleteSQL = fmt.Sprintf(`DELETE FROM %s WHERE sequence_id = ANY($1::bigint[]) AND locked_by = $2`, outbox)

// ceiling drains the outbox with the raw loop (claim batch, DELETE by id
// array; two autocommit statements per batch) on one connection, and
// returns how many rows it took and how long.
func ceiling(ctx context.Context, pool *pgxpool.Pool, batch int) (int, time.Duration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Release()
	const node = "bench-ceiling"
	done := 0
	start := time.Now()
	for {
		rows, err := conn.Query(ctx, ceilingClaimSQL, node, batch)
		if err != nil {
			return done, 0, fmt.Errorf("ceiling claim: %w", err)
		}
		ids := make([]int64, 0, batch)
		for rows.Next() {
			var id int64
			var mutation, channel, name string
			var rejected bool
			var data, headers []byte
			if err := rows.Scan(&id, &mutation, &channel, &name, &rejected, &data, &headers); err != nil {
				rows.Close()
				return done, 0, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, 0, fmt.Errorf("ceiling claim: %w", err)
		}
		if len(ids) == 0 {
			return done, time.Since(start), nil
		}
		if _, err := conn.Exec(ctx, ceilingDeleteSQL, ids, node); err != nil {
			return done, 0, fmt.Errorf("ceiling delete: %w", err)
		}
		done += len(ids)
	}
}

// pending counts unprocessed rows.
func pending(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, "SELECT count(*) FROM "+outbox+" WHERE NOT processed").Scan(&n)
	return n, err
}

// anyPending reports whether an unprocessed row is left (cheaper than a count).
func anyPending(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var b bool
	err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+outbox+" WHERE NOT processed)").Scan(&b)
	return b, err
}
