package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/schema"
)

// BenchmarkFenceRound compares one fence round over 20 rows (one per
// channel, as with 20 channels) done as an extension (UPDATE, one
// committed write per round) with the per-attempt fence, which only reads
// locks that have more than two thirds of their TTL left.
// Run: go test -run '^$' -bench FenceRound -count 6 ./connector/postgres/ | benchstat -
func BenchmarkFenceRound(b *testing.B) {
	e := newEnv(b)
	e.insertSpread(b, "f", 2000, 20)
	const node = "bench-fence-node"
	e.exec(b, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '1 hour'
WHERE sequence_id IN (SELECT min(sequence_id) FROM outbox GROUP BY channel)`, node)
	e.exec(b, "VACUUM ANALYZE outbox")
	ctx := context.Background()
	pool, err := dbconn.Pool(ctx, e.db.URL, "fence bench", 2)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var ids []int64
	rows, err := pool.Query(ctx, "SELECT sequence_id FROM outbox WHERE locked_by = $1", node)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	if rows.Close(); len(ids) != 20 {
		b.Fatalf("locked %d rows, want 20", len(ids))
	}
	s := NewStore(pool, schema.Names{})
	b.Run("extend-update", func(b *testing.B) {
		for b.Loop() {
			got, err := s.OutboxExtend(ctx, OutboxExtendParams{Node: node, IDs: ids, LockTTL: time.Hour})
			if err != nil || len(got) != len(ids) {
				b.Fatalf("extend: %d rows, %v", len(got), err)
			}
		}
	})
	b.Run("fence-read", func(b *testing.B) {
		for b.Loop() {
			got, err := s.OutboxFence(ctx, OutboxFenceParams{Node: node, IDs: ids, LockTTL: time.Hour, ExtendBelow: time.Minute})
			if err != nil || len(got) != len(ids) {
				b.Fatalf("fence: %d rows, %v", len(got), err)
			}
		}
	})
}
