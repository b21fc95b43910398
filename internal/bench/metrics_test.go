package bench

import (
	"math"
	"strings"
	"testing"
)

const exposition = `# HELP ably_publish_latency_seconds Publish → ACK latency.
# TYPE ably_publish_latency_seconds histogram
ably_publish_latency_seconds_bucket{le="0.001"} 10
ably_publish_latency_seconds_bucket{le="0.002"} 30
ably_publish_latency_seconds_bucket{le="0.004"} 40
ably_publish_latency_seconds_bucket{le="+Inf"} 40
ably_publish_latency_seconds_sum 0.06
ably_publish_latency_seconds_count 40
# TYPE ably_pending_acks gauge
ably_pending_acks 3
`

// TestHistograms: parsing, summing over nodes, deltas and PromQL-style
// quantiles.
func TestHistograms(t *testing.T) {
	h := histograms{}
	for i := 0; i < 2; i++ { // two nodes
		if err := parseHistograms(strings.NewReader(exposition), h); err != nil {
			t.Fatal(err)
		}
	}
	if len(h) != 1 {
		t.Fatalf("want only the histogram, got %v", h)
	}
	p := h["ably_publish_latency_seconds"]
	if p.count != 80 || math.Abs(p.sum-0.12) > 1e-9 || p.buckets[0.002] != 60 {
		t.Fatalf("summed histogram wrong: %+v", p)
	}
	// Median: rank 40 of 80 lies in (0.001, 0.002], 20 of its 40: 1.5 ms.
	if q := p.quantile(0.5); math.Abs(q-0.0015) > 1e-9 {
		t.Errorf("p50 = %v, want 0.0015", q)
	}
	base := histograms{}
	_ = parseHistograms(strings.NewReader(exposition), base)
	st := stages("latency", h, base)
	if len(st) != 1 || st[0].Count != 40 || st[0].Unit != "ms" || math.Abs(st[0].Mean-1.5) > 1e-9 || math.Abs(st[0].P50-1.5) > 1e-9 {
		t.Errorf("stage from the delta wrong: %+v", st)
	}
}

const stageExposition = `# TYPE livesync_row_stage_seconds histogram
livesync_row_stage_seconds_bucket{stage="publish_ack",le="0.001"} 0
livesync_row_stage_seconds_bucket{stage="publish_ack",le="0.01"} 10
livesync_row_stage_seconds_bucket{stage="publish_ack",le="+Inf"} 10
livesync_row_stage_seconds_sum{stage="publish_ack"} 0.05
livesync_row_stage_seconds_count{stage="publish_ack"} 10
livesync_row_stage_seconds_bucket{stage="commit_notify",le="0.001"} 4
livesync_row_stage_seconds_bucket{stage="commit_notify",le="0.01"} 4
livesync_row_stage_seconds_bucket{stage="commit_notify",le="+Inf"} 4
livesync_row_stage_seconds_sum{stage="commit_notify"} 0.002
livesync_row_stage_seconds_count{stage="commit_notify"} 4
`

// TestRowStagesStaySeparate: the stage label makes one series per stage
// (not one sum over the stages), reported in journey order.
func TestRowStagesStaySeparate(t *testing.T) {
	h := histograms{}
	for i := 0; i < 2; i++ { // two nodes
		if err := parseHistograms(strings.NewReader(exposition+stageExposition), h); err != nil {
			t.Fatal(err)
		}
	}
	st := stages("latency", h, nil)
	if len(st) != 3 {
		t.Fatalf("want the publish histogram and two stages, got %+v", st)
	}
	c, p := st[1], st[2]
	if c.RowStage != "commit_notify" || c.Labels != `stage="commit_notify"` || c.Count != 8 || c.P99 > 1 {
		t.Errorf("commit_notify: %+v", c)
	}
	// publish_ack: every observation in (1ms, 10ms]; the median interpolates to 5.5ms.
	if p.RowStage != "publish_ack" || p.Count != 20 || math.Abs(p.P50-5.5) > 1e-9 || math.Abs(p.Mean-5) > 1e-9 {
		t.Errorf("publish_ack: %+v", p)
	}
}
