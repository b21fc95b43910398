package postgres

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// BenchmarkDrain measures one node draining a 20,000-row backlog over 20
// channels to the local endpoint (goal ≥ 10,000 rows/s, floor 5,000),
// from node start until every row is published and completed.
// Run: go test -run '^$' -bench Drain -benchtime 3x ./connector/postgres/
func BenchmarkDrain(b *testing.B) { benchDrain(b, PublishRealtime) }

// BenchmarkDrainRESTBatch is BenchmarkDrain with publishMode rest-batch.
func BenchmarkDrainRESTBatch(b *testing.B) { benchDrain(b, PublishRESTBatch) }

func benchDrain(b *testing.B, mode string) {
	const rows, channels = 20000, 20
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		e.insertSpread(b, "b", rows, channels)
		e.exec(b, "VACUUM ANALYZE outbox")
		opts := e.options()
		opts.PollInterval, opts.SafetyPoll = time.Second, 2*time.Second
		opts.HeartbeatTimeout, opts.LockTTL, opts.RetryMax = 15*time.Second, 30*time.Second, 5*time.Second
		opts.CompletionFlush = 250 * time.Millisecond
		opts.PublishMode = mode
		opts.LazyFence = os.Getenv("BENCH_LAZY_FENCE") != ""
		if v := os.Getenv("BENCH_BATCH"); v != "" {
			opts.BatchSize, _ = strconv.Atoi(v)
		}
		events, unsub := e.bus.Subscribe(rows + 1000)
		b.StartTimer()
		start := time.Now()
		n, err := Start(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		published := 0
		var latSum time.Duration
		deadline := time.After(2 * time.Minute)
		for published < rows {
			select {
			case ev := <-events:
				if ev.Kind == connector.EventPublished {
					published++
					latSum += ev.Latency
				}
			case <-deadline:
				b.Fatalf("published %d of %d rows in 2 minutes", published, rows)
			}
		}
		pubDone := time.Since(start)
		waitFor(b, time.Minute, "all rows completed", func() bool {
			return e.count(b, "SELECT count(*) FROM outbox WHERE NOT processed") == 0
		})
		elapsed := time.Since(start)
		b.StopTimer()
		unsub()
		_ = n.Stop(context.Background())
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(rows)/pubDone.Seconds(), "published-rows/s")
		b.ReportMetric(float64(latSum.Microseconds())/float64(rows), "ack-µs/row")
		b.ReportMetric(0, "ns/op")
	}
}

// BenchmarkClaimCompleteCeiling is the database-only path on the same
// backlog: claim batches of 100 and complete them, no publishing. The
// drain goal is ≥ 0.4 × this ceiling.
func BenchmarkClaimCompleteCeiling(b *testing.B) {
	const rows, channels = 20000, 20
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		e.insertSpread(b, "b", rows, channels)
		e.exec(b, "VACUUM ANALYZE outbox")
		n, err := Start(context.Background(), Options{DatabaseURL: e.db.URL, HealthAddr: "-",
			Ably: e.options().Ably, PollFixedRate: true, PollInterval: time.Minute, SafetyPoll: time.Minute, RetryMax: 10 * time.Second, Logger: testLogger()})
		if err != nil {
			b.Fatal(err)
		}
		n.stopRun() // keep the node row, stop its loops: drive the store directly
		s := n.store
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		done := 0
		for done < rows {
			res, err := s.OutboxClaim(ctx, OutboxClaimParams{Node: n.id, Limit: 100, LockTTL: 30 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Rows) == 0 {
				b.Fatalf("claim returned nothing after %d rows", done)
			}
			ids := make([]int64, len(res.Rows))
			for j, r := range res.Rows {
				ids[j] = r.SequenceID
			}
			if _, err := s.OutboxComplete(ctx, OutboxCompleteParams{Node: n.id, IDs: ids}); err != nil {
				b.Fatal(err)
			}
			done += len(ids)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		n.Kill()
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(0, "ns/op")
	}
}
