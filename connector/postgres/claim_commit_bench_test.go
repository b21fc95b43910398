package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkOutboxClaimCommitTimes is BenchmarkOutboxClaim with the claim
// returning each row's commit time (pg_xact_commit_timestamp(xmin), what a
// node asks for when track_commit_timestamp is on, for the row journal)
// and without, in the same run on the same kind of backlog: the journal's
// cost on the claim.
func BenchmarkOutboxClaimCommitTimes(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		for _, commit := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/commitTimes=%v", batch, commit), func(b *testing.B) {
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
				n.stopRun()
				if commit && !n.commitTS {
					b.Skip("track_commit_timestamp is off")
				}
				ctx := context.Background()
				rows := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					res, err := n.store.OutboxClaim(ctx, OutboxClaimParams{Node: n.id, Limit: batch, LockTTL: 30 * time.Second, CommitTimes: commit})
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Rows) == 0 {
						b.Fatalf("claim %d returned nothing", i)
					}
					if commit && res.Rows[0].Committed == nil {
						b.Fatal("no commit time returned")
					}
					ids := make([]int64, len(res.Rows))
					for j, r := range res.Rows {
						ids[j] = r.SequenceID
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
}
