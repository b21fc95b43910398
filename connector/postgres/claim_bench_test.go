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
// array) of what it got, on a backlog spread over 20 channels; with held=H
// the node keeps H claimed rows in memory as a draining node does (passed
// as Held; the oldest batch completed each op). Compare with
// `livesync-dev bench`'s raw ceiling loop (drain.ceilingRowsPerSec).
// Run: go test -run '^$' -bench OutboxClaim -count 6 ./connector/postgres/ | benchstat -
func BenchmarkOutboxClaim(b *testing.B) {
	for _, c := range []struct{ batch, held int }{{10, 0}, {100, 0}, {1000, 0}, {100, 300}} {
		batch := c.batch
		name := fmt.Sprintf("batch=%d", batch)
		if c.held > 0 {
			name += fmt.Sprintf("/held=%d", c.held)
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			e.insertSpread(b, "c", b.N*batch+c.held, 20)
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
			var held []int64 // claimed, not completed, oldest first
			claim := func() int {
				res, err := n.store.OutboxClaim(ctx, OutboxClaimParams{Node: n.id, Limit: batch, LockTTL: 30 * time.Second, Held: held})
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res.Rows {
					held = append(held, r.SequenceID)
				}
				return len(res.Rows)
			}
			for len(held) < c.held {
				if claim() == 0 {
					b.Fatal("filling the held rows: a claim returned nothing")
				}
			}
			rows := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got := claim()
				if got == 0 {
					b.Fatalf("claim %d returned nothing", i)
				}
				done := held[:min(len(held)-c.held, len(held))]
				if _, err := n.store.OutboxComplete(ctx, OutboxCompleteParams{Node: n.id, IDs: done}); err != nil {
					b.Fatal(err)
				}
				held = append([]int64(nil), held[len(done):]...)
				rows += got
			}
			b.StopTimer()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
