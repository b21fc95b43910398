package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestLiveSyncEndToEnd: node-postgres inserts 2,000 outbox rows over 20
// channels (multi-row and single-row INSERTs; object, array, number, string,
// boolean, JSON null and SQL NULL data; user, empty and NULL headers; a few
// rejected rows), `livesync-dev connector run` publishes them, and unmodified
// ably-js subscribers (10 channels over msgpack, 10 over JSON) check every
// message; the outbox must drain to the processed max-sequence_id tombstone.
func TestLiveSyncEndToEnd(t *testing.T) {
	requireNode(t)
	npmCI(t, liveSyncDir)
	ls := startLiveSync(t, binary(t), "")
	start := time.Now()
	out := nodeScript(t, ls, "e2e.mjs")
	var s struct {
		Error           string   `json:"error"`
		Rows            int      `json:"rows"`
		Statements      int      `json:"statements"`
		InsertMs        int      `json:"insertMs"`
		WallMs          int      `json:"wallMs"`
		Received        int      `json:"received"`
		Unique          int      `json:"unique"`
		Missing         int      `json:"missing"`
		Duplicates      int      `json:"duplicates"`
		Unexpected      int      `json:"unexpected"`
		OrderViolations int      `json:"orderViolations"`
		FieldMismatches int      `json:"fieldMismatches"`
		RejectedRows    int      `json:"rejectedRows"`
		RejectHeaders   int      `json:"rejectHeaders"`
		MsgpackChannels int      `json:"msgpackChannels"`
		JSONChannels    int      `json:"jsonChannels"`
		Problems        []string `json:"problems"`
		MaxSequenceID   int      `json:"maxSequenceId"`
		Outbox          struct {
			Error         string `json:"error"`
			Rows          int    `json:"rows"`
			MaxSequenceID int    `json:"maxSequenceId"`
			Processed     bool   `json:"processed"`
		} `json:"outbox"`
	}
	lastJSONLine(t, out, &s)
	t.Logf("2,000 rows: inserted in %d ms (%d statements), all received %d ms after the first insert; script %v",
		s.InsertMs, s.Statements, s.WallMs, time.Since(start).Round(time.Millisecond))
	if s.Error != "" {
		t.Errorf("script: %s", s.Error)
	}
	if s.Rows != 2000 || s.MsgpackChannels != 10 || s.JSONChannels != 10 {
		t.Errorf("ran %d rows, %d msgpack + %d JSON channels; want 2000, 10 + 10", s.Rows, s.MsgpackChannels, s.JSONChannels)
	}
	if s.Received != s.Rows || s.Unique != s.Rows || s.Missing != 0 || s.Duplicates != 0 || s.Unexpected != 0 {
		t.Errorf("delivery: received %d messages, %d distinct ids, %d missing, %d duplicated, %d unexpected; want each of %d rows exactly once",
			s.Received, s.Unique, s.Missing, s.Duplicates, s.Unexpected, s.Rows)
	}
	if s.OrderViolations != 0 || s.FieldMismatches != 0 {
		t.Errorf("%d per-channel order violations, %d messages with wrong fields", s.OrderViolations, s.FieldMismatches)
	}
	if s.RejectedRows == 0 || s.RejectHeaders != s.RejectedRows {
		t.Errorf("%d messages carry x-ably-models-reject, want exactly the %d rejected rows", s.RejectHeaders, s.RejectedRows)
	}
	for _, p := range s.Problems {
		t.Errorf("  %s", p)
	}
	if s.Outbox.Error != "" || s.Outbox.Rows != 1 || s.Outbox.MaxSequenceID != s.MaxSequenceID || !s.Outbox.Processed {
		t.Errorf("outbox after publishing: %+v; want only sequence_id %d left, processed", s.Outbox, s.MaxSequenceID)
	}
}

// TestModelsSDK runs @ably-labs/models 0.0.4 on ably-js 2.28.0 against the
// connector: sync from Postgres (state + COALESCE(MAX(sequence_id),0)), then
// an optimistic mutation confirmed by an outbox row with its mutation_id, and
// one rolled back by a rejected row.
func TestModelsSDK(t *testing.T) {
	requireNode(t)
	npmCI(t, liveSyncDir)
	ls := startLiveSync(t, binary(t), "")
	out := nodeScript(t, ls, "models.mjs")
	type counter struct {
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
	}
	var s struct {
		Error  string `json:"error"`
		State  string `json:"state"`
		Seed   int    `json:"seedSequenceId"`
		Synced struct {
			Confirmed counter `json:"confirmed"`
		} `json:"synced"`
		Sync struct {
			SequenceID string `json:"sequenceId"`
		} `json:"sync"`
		A struct {
			OptimisticBefore counter `json:"optimisticBefore"`
			ConfirmedBefore  counter `json:"confirmedBefore"`
			Resolved         bool    `json:"resolved"`
			Confirmed        counter `json:"confirmed"`
			Optimistic       counter `json:"optimistic"`
		} `json:"a"`
		B struct {
			OptimisticBefore counter `json:"optimisticBefore"`
			Resolved         bool    `json:"resolved"`
			RejectedWith     string  `json:"rejectedWith"`
			RevertError      string  `json:"revertError"`
			OptimisticAfter  counter `json:"optimisticAfter"`
			ConfirmedAfter   counter `json:"confirmedAfter"`
		} `json:"b"`
	}
	lastJSONLine(t, out, &s)
	if s.Error != "" {
		t.Fatalf("models script: %s\n%s", s.Error, out)
	}
	seed := counter{1, []string{"seed"}}
	afterA := counter{6, []string{"seed", "a"}}
	checks := []struct {
		what      string
		got, want any
	}{
		{"model state after sync", s.State, "ready"},
		{"sync sequenceId (the seed row's)", s.Sync.SequenceID, strconv.Itoa(s.Seed)},
		{"confirmed after sync", s.Synced.Confirmed, seed},
		{"(a) optimistic before confirmation", s.A.OptimisticBefore, afterA},
		{"(a) confirmed before confirmation", s.A.ConfirmedBefore, seed},
		{"(a) confirmation resolved", s.A.Resolved, true},
		{"(a) confirmed after confirmation", s.A.Confirmed, afterA},
		{"(a) optimistic after confirmation", s.A.Optimistic, afterA},
		{"(b) optimistic before rejection", s.B.OptimisticBefore, counter{13, []string{"seed", "a", "b"}}},
		{"(b) confirmation resolved", s.B.Resolved, false},
		{"(b) revert error", s.B.RevertError, ""},
		{"(b) optimistic after rollback", s.B.OptimisticAfter, afterA},
		{"(b) confirmed after rollback", s.B.ConfirmedAfter, afterA},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.what, c.got, c.want)
		}
	}
	if s.B.RejectedWith == "" {
		t.Errorf("(b) the confirmation promise did not reject")
	}
	if t.Failed() {
		t.Logf("summary: %s", out)
	}
}

// BenchmarkLiveSyncLatency measures insert-commit → ably-js receive latency
// with single-row transactions at $RATE rows/s (1000) for $SECONDS s (10).
// It is a measurement, not a test: nothing is asserted about timing.
//
//	go test ./conformance -run '^$' -bench LiveSyncLatency -benchtime 1x
//
// $LIVESYNC_DEV_BIN uses a prebuilt binary; $LIVESYNC_POLL_INTERVAL (e.g.
// 100ms) sets connector.pollInterval (default 1s).
func BenchmarkLiveSyncLatency(b *testing.B) {
	if _, err := exec.LookPath("node"); err != nil {
		b.Skipf("Node.js not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(liveSyncDir, "node_modules")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = liveSyncDir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	bin := os.Getenv("LIVESYNC_DEV_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "livesync-dev")
		if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	config := ""
	if pi := os.Getenv("LIVESYNC_POLL_INTERVAL"); pi != "" {
		config = "connector:\n  pollInterval: " + pi + "\n"
	}
	ls := startLiveSync(b, bin, config)
	env := []string{"MODE=latency"}
	for _, k := range []string{"RATE", "SECONDS", "CONCURRENCY", "CHANNELS"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := nodeScript(b, ls, "e2e.mjs", env...)
		var s struct {
			Error        string  `json:"error"`
			AchievedRate float64 `json:"achievedRate"`
			Received     int     `json:"received"`
			Inserted     int     `json:"inserted"`
			Lat          struct {
				P50, P95, P99, Max float64
			} `json:"commitToReceiveMs"`
		}
		lastJSONLine(b, out, &s)
		b.Logf("%s", out)
		if s.Error != "" || s.Received != s.Inserted {
			b.Fatalf("latency run: %s (received %d of %d)", s.Error, s.Received, s.Inserted)
		}
		b.ReportMetric(s.Lat.P50, "p50-ms")
		b.ReportMetric(s.Lat.P95, "p95-ms")
		b.ReportMetric(s.Lat.P99, "p99-ms")
		b.ReportMetric(s.Lat.Max, "max-ms")
		b.ReportMetric(s.AchievedRate, "rows/s")
	}
}
