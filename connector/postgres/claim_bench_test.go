package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkOutboxClaim measures the connector's own claim SQL: one op is
// one OutboxClaim of up to batch rows (share, candidate channels, advisory
// locks, per-channel prefix, lock) plus one OutboxComplete (DELETE by id
// array) of what it got, on a backlog spread over 20 channels. Compare with
// `livesync-dev bench`'s raw ceiling loop (drain.ceilingRowsPerSec).
// Run: go test -run '^$' -bench OutboxClaim -count 6 ./connector/postgres/ | benchstat -
func BenchmarkOutboxClaim(b *testing.B) {
	for _, batch := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			e := newEnv(b)
			e.insertSpread(b, "c", b.N*batch, 20)
			e.exec(b, "VACUUM ANALYZE outbox")
			n, err := Start(context.Background(), Options{DatabaseURL: e.db.URL, HealthAddr: "-",
				Ably: e.options().Ably, PollFixedRate: true, PollInterval: time.Minute, SafetyPoll: time.Minute,
				RetryMax: 10 * time.Second, Logger: testLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Kill()
			n.stopRun() // keep the node row, stop its loops: drive the store directly
			ctx := context.Background()
			rows := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := n.store.OutboxClaim(ctx, OutboxClaimParams{Node: n.id, Limit: batch, LockTTL: 30 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]int64, len(res.Rows))
				for j, r := range res.Rows {
					ids[j] = r.SequenceID
				}
				if len(ids) == 0 {
					b.Fatalf("claim %d returned nothing", i)
				}
				if _, err := n.store.OutboxComplete(ctx, OutboxCompleteParams{Node: n.id, IDs: ids}); err != nil {
					b.Fatal(err)
				}
				rows += len(ids)
			}
			b.StopTimer()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
