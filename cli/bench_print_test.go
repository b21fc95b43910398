package cli

import (
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/bench"
)

// TestBenchTablePrintsRowStages: the human table has one row per phase
// with p50 / p99 per journey stage, "-" for a stage not measured.
func TestBenchTablePrintsRowStages(t *testing.T) {
	r := &bench.Result{Stages: []bench.Stage{
		{Phase: "drain", Name: "ably_publish_latency_seconds", Unit: "ms", Count: 9, P50: 1, P99: 2},
		{Phase: "drain", Name: "livesync_row_stage_seconds", RowStage: "claim_publish", Unit: "ms", Count: 9, P50: 0.42, P99: 3.5},
		{Phase: "latency", Name: "livesync_row_stage_seconds", RowStage: "commit_notify", Unit: "ms", Count: 9, P50: 0.3, P99: 1.25},
		{Phase: "latency", Name: "livesync_row_stage_seconds", RowStage: "publish_ack", Unit: "ms", Count: 9, P50: 12.5, P99: 140},
	}}
	var b strings.Builder
	printBench(&b, r)
	out := b.String()
	for _, want := range []string{
		"histogram  drain    ably_publish_latency_seconds",
		"row stages p50 / p99 ms    commit→notify     notify→claim    claim→publish      publish→ACK     ACK→complete",
		"  drain                                -                -      0.42 / 3.50                -                -\n",
		"  latency                    0.30 / 1.25                -                -       12.5 / 140                -\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "histogram  latency  livesync_row_stage_seconds") {
		t.Errorf("row stages printed twice:\n%s", out)
	}
}
