package monitor

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/schema"
)

// benchRows is the seeded outbox size: LIVESYNC_BENCH_ROWS, default 100k
// (performance-anchors §2c uses 1M and 10M).
func benchRows(b *testing.B) int {
	if v := os.Getenv("LIVESYNC_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("LIVESYNC_BENCH_ROWS=%q: want an integer >= 1000", v)
		}
		return n
	}
	return 100000
}

// BenchmarkMonitorQueries seeds an outbox shaped like performance-anchors
// §2c (1% pending, 0.1% of rows rejected-pending, 0.01% locked by a dead
// node whose lock lapsed an hour ago, 50 channels), then times each
// snapshot step and a list page, with the recommended indexes and then
// without them (estimates).
func BenchmarkMonitorQueries(b *testing.B) {
	rows := benchRows(b)
	db := pgtest.NewDB(b)
	ctx := context.Background()
	admin := db.Admin(b)
	seed := []string{
		`INSERT INTO nodes (id, expiry) VALUES ('dead-node', (now() AT TIME ZONE 'utc') - interval '1 hour'),
		   ('live-node', (now() AT TIME ZONE 'utc') + interval '1 hour')`,
		fmt.Sprintf(`INSERT INTO outbox (mutation_id, channel, name, data, processed, rejected, locked_by, lock_expiry)
SELECT 'm' || g, 'chan-' || (g %% 50), 'e', '{"n":1}', g %% 100 <> 0, g %% 1000 = 0,
  CASE WHEN g %% 10000 = 0 THEN 'dead-node' END,
  CASE WHEN g %% 10000 = 0 THEN (now() AT TIME ZONE 'utc') - interval '1 hour' END
FROM generate_series(1, %d) g`, rows),
		`VACUUM ANALYZE outbox`,
	}
	for _, s := range seed {
		if _, err := admin.Exec(ctx, s); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	pool, err := dbconn.Pool(ctx, db.URL, "monitor-bench", 2)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for _, mode := range []string{"indexed", "no-indexes"} {
		if mode == "no-indexes" {
			for _, idx := range schema.RecommendedIndexes {
				if _, err := admin.Exec(ctx, "DROP INDEX "+schema.DefaultNames().IndexName(idx.Suffix)); err != nil {
					b.Fatal(err)
				}
			}
		}
		m := New(pool, Options{ExactRowLimit: -1})
		base, err := m.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s, %d rows: pending %d (estimated %v), stuck %d", mode, rows, base.Outbox.Pending, base.Outbox.Estimated, len(base.Stuck))
		steps := []struct {
			name string
			fn   func(context.Context, *Snapshot) error
		}{
			{"counts", m.counts}, {"ages", m.ages}, {"tombstone", m.tombstone}, {"nodes", m.nodes},
			{"channels", m.channels}, {"trigger", m.checkTrigger}, {"table", m.tableHealth},
			{"diagnose", m.diagnose}, {"warnings", m.warnings},
		}
		for _, st := range steps {
			b.Run(mode+"/"+st.name, func(b *testing.B) {
				for b.Loop() {
					s := *base
					s.Stuck, s.Warnings, s.Channels, s.Nodes = nil, nil, nil, nil
					if err := st.fn(ctx, &s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(mode+"/snapshot", func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Snapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode+"/list-pending-page", func(b *testing.B) {
			after := int64(rows / 2)
			for b.Loop() {
				if _, err := m.OutboxList(ctx, OutboxListParams{After: after, Limit: 100, Filter: PendingRows}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
