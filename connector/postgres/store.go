package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/schema"
)

// sqlNow is the database clock in UTC, comparable with expiry and
// lock_expiry (timestamp without time zone holding UTC). Node clocks are
// never used for leases.
const sqlNow = "(now() AT TIME ZONE 'utc')"

// Advisory lock class ids (first key of the two-key advisory locks), so the
// connector's locks do not collide with an application's.
const (
	lockClassChannel  = 0x4c53_4331 // "LSC1": claim of one channel's head
	lockClassComplete = 0x4c53_4332 // "LSC2": completions, serialised so one tombstone remains
)

// Store is the connector's one seam to the database: every query the
// connector runs is a method here. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	outbox string
	nodes  string
}

// NewStore wraps pool; names locate the tables.
func NewStore(pool *pgxpool.Pool, names schema.Names) *Store {
	return &Store{pool: pool, outbox: names.Outbox(), nodes: names.Nodes()}
}

// Pool is the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// NodeRegisterParams say which node registers and for how long.
type NodeRegisterParams struct {
	// ID is the node's UUID.
	ID string
	// Timeout is how far ahead of the database clock expiry is set.
	Timeout time.Duration
}

// NodeRegister inserts the node's row (or renews it if present).
func (s *Store) NodeRegister(ctx context.Context, p NodeRegisterParams) error {
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, expiry) VALUES ($1, %s + $2::bigint * interval '1 microsecond')
ON CONFLICT (id) DO UPDATE SET expiry = EXCLUDED.expiry`, s.nodes, sqlNow), p.ID, p.Timeout.Microseconds())
	return err
}

// NodeHeartbeatParams say which node heartbeats.
type NodeHeartbeatParams struct {
	// ID is the node's UUID.
	ID string
	// Timeout is how far ahead of the database clock expiry is pushed.
	Timeout time.Duration
}

// NodeHeartbeat pushes the node's expiry forward. It reports false when
// the row is gone (reaped after the node missed its heartbeats).
func (s *Store) NodeHeartbeat(ctx context.Context, p NodeHeartbeatParams) (bool, error) {
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`UPDATE %s SET expiry = %s + $2::bigint * interval '1 microsecond' WHERE id = $1`, s.nodes, sqlNow), p.ID, p.Timeout.Microseconds())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// NodeReap deletes expired node rows and returns how many it deleted.
func (s *Store) NodeReap(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE expiry < %s`, s.nodes, sqlNow))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// NodeIDs lists the ids in the nodes table, live or not.
func (s *Store) NodeIDs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT id FROM %s`, s.nodes))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NodeDeleteParams say which node row to delete.
type NodeDeleteParams struct {
	// ID is the node's UUID.
	ID string
}

// NodeDelete removes the node's row (clean shutdown).
func (s *Store) NodeDelete(ctx context.Context, p NodeDeleteParams) error {
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE id = $1`, s.nodes), p.ID)
	return err
}

// NodeCount counts rows in the nodes table (also its health check).
func (s *Store) NodeCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, s.nodes)).Scan(&n)
	return n, err
}

// OutboxPendingCount counts unprocessed outbox rows (also the outbox
// health check; served by the pending partial index).
func (s *Store) OutboxPendingCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE NOT processed`, s.outbox)).Scan(&n)
	return n, err
}

// ownerSQL is true when channel c belongs to share $idx of $n.
func ownerSQL(col, n, idx string) string {
	return fmt.Sprintf("mod(hashtext(%s)::bigint + 2147483648, %s) = %s", col, n, idx)
}
