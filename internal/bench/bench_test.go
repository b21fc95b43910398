package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/internal/bench"
)

// binary builds the livesync-dev command for the test: bench runs the
// real binary's `sandbox up` and `connector run` as separate processes.
func binary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "livesync-dev")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestBenchCommand runs the real binary's bench with small numbers and
// checks the JSON document's shape and sanity; no timing assertions.
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a whole sandbox")
	}
	bin := binary(t)

	for _, bad := range [][]string{{"--rows", "0"}, {"--rows", "many"}, {"--rate", "-5"}, {"--nodes", "65"}, {"--seconds", "0"},
		{"--set", "postgres.url=postgres://elsewhere"}, {"--set", "connector.batchSize=5000"}} {
		_, stderr, code := run(t, bin, append([]string{"bench", "--json"}, bad...)...)
		if code != 2 || !strings.Contains(stderr, strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("bench %v: exit %d, stderr %q; want exit 2 naming the flag", bad, code, stderr)
		}
	}

	profDir := filepath.Join(t.TempDir(), "prof")
	const rows, rate, seconds = 2000, 100, 3
	stdout, stderr, code := run(t, bin, "bench", "--rows", "2000", "--channels", "20", "--seconds", "3", "--rate", "100", "--json", "--profile", profDir, "--set", "connector.batchSize=50", "--set", "connector.ablyConnections=2")
	if code != 0 {
		t.Fatalf("bench exit %d\nstderr:\n%s", code, stderr)
	}
	// Not a terminal: one line per phase, each named, in Run's order.
	var shown []string
	for _, line := range strings.Split(stderr, "\n") {
		if title, ok := strings.CutPrefix(line, "bench: "); ok {
			shown = append(shown, title)
		}
	}
	var want []string
	for _, ph := range bench.Phases {
		want = append(want, ph.Title())
	}
	if !slices.Equal(shown, want) {
		t.Errorf("progress lines %q, want one per phase: %q", shown, want)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var r bench.Result
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not a bench result: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON document: %s", stdout)
	}
	d := r.Drain
	if d.Rows != rows || d.RowsPerSec <= 0 || d.CeilingRowsPerSec <= 0 || d.Seconds <= 0 {
		t.Errorf("drain figures not sane: %+v", d)
	}
	if want := d.RowsPerSec / d.CeilingRowsPerSec; math.Abs(d.Ratio-want) > 0.002 {
		t.Errorf("ratio %v, but rowsPerSec/ceiling = %v", d.Ratio, want)
	}
	if math.Abs(d.RowsPerSec-float64(rows)/d.Seconds) > 0.01*d.RowsPerSec {
		t.Errorf("rowsPerSec %v is not rows/seconds = %v", d.RowsPerSec, float64(rows)/d.Seconds)
	}
	if pc := d.PublishCeiling; pc.Rows != rows || pc.Connections != 2 || pc.RowsPerSec <= 0 || pc.Seconds <= 0 ||
		math.Abs(pc.RowsPerSec-float64(rows)/pc.Seconds) > 0.01*pc.RowsPerSec || pc.EndpointCPUSeconds <= 0 {
		t.Errorf("publish ceiling not sane (want %d rows over the 2 connections --set asked for): %+v", rows, pc)
	}
	if d.CeilingPostgresCPUSeconds <= 0 {
		t.Errorf("the ceiling's Postgres CPU was not measured: %+v", d)
	}
	pcpu := d.PublishCeiling.PublisherCPUSeconds + d.PublishCeiling.EndpointCPUSeconds + d.CeilingPostgresCPUSeconds
	if want := float64(r.Machine.CPUs*rows) / pcpu; d.PublishCeiling.PublisherCPUSeconds > 0 && (math.Abs(d.CPUBoundRowsPerSec-want) > 0.1 ||
		math.Abs(d.CPUBoundRatio-d.RowsPerSec/want) > 0.002) {
		t.Errorf("cpu bound %v (ratio %v), want %v (ratio %v)", d.CPUBoundRowsPerSec, d.CPUBoundRatio, want, d.RowsPerSec/want)
	}
	l := r.Latency
	if l.Sent != rate*seconds || l.Received != l.Sent {
		t.Errorf("latency rows: sent %d (want %d), received %d: every row must be delivered", l.Sent, rate*seconds, l.Received)
	}
	if !(l.P50Ms > 0 && l.P50Ms <= l.P90Ms && l.P90Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) || l.AchievedRate <= 0 || l.Rate != rate {
		t.Errorf("latency figures not sane: %+v", l)
	}
	// Each row's COMMIT → receipt is its insert → receipt less a
	// non-negative commit time, so its quantiles cannot exceed the whole's.
	in, out := l.Split.InsertToCommit, l.Split.CommitToReceipt
	if !(in.P50Ms > 0 && in.P50Ms <= in.P99Ms && in.P99Ms <= in.MaxMs && out.P50Ms <= out.P99Ms && out.P99Ms <= out.MaxMs) ||
		out.P50Ms > l.P50Ms+0.01 || out.P99Ms > l.P99Ms+0.01 || out.MaxMs > l.MaxMs+0.01 {
		t.Errorf("latency split not sane: %+v (whole: p50 %v p99 %v max %v)", l.Split, l.P50Ms, l.P99Ms, l.MaxMs)
	}
	if r.Memory.ConnectorPeakRSSMB <= 0 || r.Memory.ConnectorDrainPeakRSSMB > r.Memory.ConnectorPeakRSSMB {
		t.Errorf("memory figures not sane: %+v", r.Memory)
	}
	if r.CPU.ConnectorSeconds <= 0 || r.CPU.WallSeconds <= 0 {
		t.Errorf("cpu figures not sane: %+v", r.CPU)
	}
	var drainAcks int64
	for _, s := range r.Stages {
		if s.Phase == "drain" && s.Name == "ably_publish_latency_seconds" {
			drainAcks = s.Count
		}
	}
	if drainAcks < rows {
		t.Errorf("the drain's publish→ACK histogram counts %d, want at least %d: %+v", drainAcks, rows, r.Stages)
	}
	if r.Config.Rows != rows || r.Config.Channels != 20 || r.Config.Nodes != 1 || r.Config.BatchSize != 50 || r.Config.Settings["connector.batchSize"] != "50" || !r.Config.Profiling {
		t.Errorf("config not echoed: %+v", r.Config)
	}
	if r.Profile == nil || len(r.Profile.Files) == 0 {
		t.Fatalf("--profile wrote no files: %+v", r.Profile)
	}
	for _, name := range []string{"connector-cpu.pprof", "connector-block.pprof"} {
		st, err := os.Stat(filepath.Join(profDir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("profile %s missing or empty (%v)", name, err)
		}
	}
}
