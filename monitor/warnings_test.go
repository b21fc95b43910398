package monitor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
)

func warningCodes(s *monitor.Snapshot) map[string]int64 {
	out := map[string]int64{}
	for _, w := range s.Warnings {
		var id int64
		if w.SequenceID != nil {
			id = *w.SequenceID
		}
		if _, seen := out[w.Code]; !seen {
			out[w.Code] = id
		}
	}
	return out
}

func TestWarnings(t *testing.T) {
	db := pgtest.NewDB(t)
	m := newMonitor(t, db, monitor.Options{})
	ctx := context.Background()
	s, err := m.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := warningCodes(s)["empty-outbox"]; !ok {
		t.Fatalf("warnings %+v; want empty-outbox", s.Warnings)
	}
	big := strings.Repeat("x", 70000)
	exec(t, db,
		`INSERT INTO outbox (mutation_id, channel, name, data, headers) VALUES
		   ('', 'c', 'e', '{}', NULL),
		   ('m2', 'c', 'e', '{}', '{"a":{"nested":true}}'),
		   ('m3', 'c', 'e', '"`+big+`"', NULL),
		   ('m4', 'c', 'e', '{}', '{"ok":"yes"}')`,
		`INSERT INTO outbox (mutation_id, channel, name, processed) VALUES ('m5', 'c', 'e', true), ('m6', 'c', 'e', true)`)
	if s, err = m.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	codes := warningCodes(s)
	want := map[string]int64{"empty-mutation-id": 1, "headers-refused": 2, "data-too-large": 3, "multiple-processed": 5, "out-of-order": 1}
	for code, id := range want {
		if got, ok := codes[code]; !ok || got != id {
			t.Errorf("warning %s for row %d missing (got %+v)", code, id, s.Warnings)
		}
	}
	for _, code := range []string{"sequence-reset", "rate-near-limit"} {
		if _, ok := codes[code]; ok {
			t.Errorf("%s without cause (rates need a 10 s window)", code)
		}
	}
	if s.Rates.InsertPerSecond == nil || *s.Rates.InsertPerSecond <= 0 {
		t.Errorf("insert rate %v after 6 inserts between snapshots", s.Rates.InsertPerSecond)
	}
	exec(t, db, `TRUNCATE outbox RESTART IDENTITY`, `INSERT INTO outbox (mutation_id, channel, name) VALUES ('n', 'c', 'e')`)
	if s, err = m.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := warningCodes(s)["sequence-reset"]; !ok {
		t.Fatalf("warnings %+v; want sequence-reset", s.Warnings)
	}
}

// TestWarningsRowsThatCanNeverPublish: pending rows whose channel or headers
// Ably refuses (40010, 40032) are named, with the rule; rows Ably accepts
// (a leading space, numeric headers) are not called unpublishable.
func TestWarningsRowsThatCanNeverPublish(t *testing.T) {
	db := pgtest.NewDB(t)
	m := newMonitor(t, db, monitor.Options{})
	exec(t, db, `INSERT INTO outbox (mutation_id, channel, name, headers) VALUES
		   ('m1', '[x]y', 'e', NULL),
		   ('m2', 'ok', 'e', '{"a":[1]}'),
		   ('m3', ' fine', 'e', '{"n":1}'),
		   ('m4', 'ok', 'e', '"text"')`)
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64][]monitor.Warning{}
	for _, w := range s.Warnings {
		if w.SequenceID != nil {
			byID[*w.SequenceID] = append(byID[*w.SequenceID], w)
		}
	}
	has := func(id int64, code, detail string) {
		t.Helper()
		for _, w := range byID[id] {
			if w.Code == code && strings.Contains(w.Detail, detail) {
				return
			}
		}
		t.Errorf("row %d: want %s mentioning %q, got %+v", id, code, detail, byID[id])
	}
	has(1, "channel-invalid", "must not start with '['")
	has(2, "headers-refused", `header "a" has an array value`)
	has(3, "headers-not-flat", "non-string")
	has(4, "headers-not-flat", "not a JSON object")
	for _, w := range byID[3] {
		if w.Code == "channel-invalid" || w.Code == "headers-refused" {
			t.Errorf("row 3 is publishable by Ably, got %+v", w)
		}
	}
}

func TestEstimatesWithoutIndexes(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db,
		`DROP INDEX outbox_pending_idx, outbox_channel_pending_idx, outbox_lock_expiry_idx, outbox_rejected_idx`,
		`INSERT INTO outbox (mutation_id, channel, name, rejected) SELECT 'm', 'c' || (g % 7), 'e', g % 10 = 0 FROM generate_series(1, 2000) g`,
		`ANALYZE outbox`)
	m := newMonitor(t, db, monitor.Options{ExactRowLimit: -1})
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := s.Outbox
	if !o.Estimated || len(s.Indexes.Missing) != 4 {
		t.Fatalf("estimated %v missing %v", o.Estimated, s.Indexes.Missing)
	}
	if o.Pending < 1800 || o.Pending > 2200 || o.RejectedPending < 150 || o.RejectedPending > 250 {
		t.Fatalf("estimates pending %d rejected %d; want about 2000 and 200", o.Pending, o.RejectedPending)
	}
	if len(s.Channels) != 7 || !s.Channels[0].Estimated {
		t.Fatalf("channels %+v", s.Channels)
	}
	exact := newMonitor(t, db, monitor.Options{})
	if s, err = exact.Snapshot(context.Background()); err != nil || s.Outbox.Estimated || s.Outbox.Pending != 2000 {
		t.Fatalf("small table without indexes: %+v (%v); want exact counts", s.Outbox, err)
	}
}

func TestValidateJSONLocatesErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a":1}`, ""},
		{"{\n \"a\": tru\n}", "line 2, column"},
		{`[1,2`, "unexpected end"},
		{`1 2`, "after the JSON value"},
		{``, "unexpected end"},
	}
	for _, c := range cases {
		err := monitor.ValidateJSON("data", []byte(c.in))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("ValidateJSON(%q) = %v; want %q", c.in, err, c.want)
		}
	}
}

// TestCountsPastTheCapAreLowerBounds: with the indexes a count past the
// cap is the cap flagged "at least", never a planner guess.
func TestCountsPastTheCapAreLowerBounds(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db,
		`INSERT INTO outbox (mutation_id, channel, name, rejected) SELECT 'm', 'c', 'e', g <= 5 FROM generate_series(1, 2000) g`,
		`ANALYZE outbox`)
	s, err := newMonitor(t, db, monitor.Options{ExactCountCap: 100}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := s.Outbox
	if o.Estimated || o.Pending != 100 || !o.PendingAtLeast || o.CountCap != 100 {
		t.Fatalf("outbox %+v: want pending ≥ 100, not estimated", o)
	}
	if o.RejectedPending != 5 || o.RejectedPendingAtLeast {
		t.Fatalf("rejected %d: under the cap the count stays exact", o.RejectedPending)
	}
	// The default cap counts 10,000 rows exactly.
	exec(t, db, `INSERT INTO outbox (mutation_id, channel, name) SELECT 'm', 'c', 'e' FROM generate_series(1, 8000) g`)
	if s, err = newMonitor(t, db, monitor.Options{}).Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Outbox.Pending != 10000 || s.Outbox.PendingAtLeast {
		t.Fatalf("outbox %+v: want exactly 10000", s.Outbox)
	}
}

// TestEstimatesNeverExceedTheIDSpan: after a mass delete the planner's
// statistics still count the deleted rows; the estimate stays within max
// id − oldest pending id + 1.
func TestEstimatesNeverExceedTheIDSpan(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db,
		`DROP INDEX outbox_pending_idx, outbox_channel_pending_idx, outbox_lock_expiry_idx, outbox_rejected_idx`,
		`INSERT INTO outbox (mutation_id, channel, name) SELECT 'm', 'c', 'e' FROM generate_series(1, 5000) g`,
		`ANALYZE outbox`,
		`DELETE FROM outbox WHERE sequence_id <= 4990`)
	s, err := newMonitor(t, db, monitor.Options{ExactRowLimit: -1}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Outbox; !o.Estimated || o.Pending > 10 || o.Pending < 1 {
		t.Fatalf("outbox %+v: want an estimate of at most 10 (ids 4991..5000), flagged", o)
	}
}

// TestOutOfOrderOnlyWithinAChannel: a pending row below a published row of
// another channel is not out of order (ordering is per channel).
func TestOutOfOrderOnlyWithinAChannel(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db, `INSERT INTO outbox (mutation_id, channel, name) VALUES ('a', 'poison:1', 'e'), ('b', 'fine:1', 'e')`,
		`UPDATE outbox SET processed = true WHERE sequence_id = 2`)
	m := newMonitor(t, db, monitor.Options{})
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := warningCodes(s)["out-of-order"]; ok {
		t.Fatalf("warnings %+v: rows of different channels are not out of order", s.Warnings)
	}
	exec(t, db, `INSERT INTO outbox (mutation_id, channel, name) VALUES ('c', 'fine:1', 'e')`,
		`UPDATE outbox SET processed = true WHERE sequence_id = 3`, `UPDATE outbox SET processed = false WHERE sequence_id = 2`)
	if s, err = m.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if id, ok := warningCodes(s)["out-of-order"]; !ok || id != 2 {
		t.Fatalf("warnings %+v: want out-of-order for row 2 below row 3 of fine:1", s.Warnings)
	}
}
