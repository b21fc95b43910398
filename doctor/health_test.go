package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// flushStats makes the session's pending statistics visible to others:
// the server flushes them before it reports ready for the next query.
func flushStats(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	var v int
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v < 150000 {
		t.Skip("pg_stat_force_next_flush needs PostgreSQL 15")
	}
	exec(t, conn, "SELECT pg_stat_force_next_flush()")
}

func TestDeadTuplesWarnAndVacuumFixes(t *testing.T) {
	db := pgtest.NewDB(t)
	admin := db.Admin(t)
	exec(t, admin,
		"ALTER TABLE public.outbox SET (autovacuum_enabled = false)",
		"INSERT INTO public.outbox (mutation_id, channel, name) SELECT g::text, 'c', 'n' FROM generate_series(1, 12000) g",
		"DELETE FROM public.outbox")
	flushStats(t, admin)
	c := find(t, check(t, admin, Params{}), "outbox.dead_tuples")
	if c.Status != Warn || !strings.Contains(c.Detail, "12000 dead") || !strings.Contains(c.Fix, "VACUUM") {
		t.Fatalf("dead tuples = %s %q fix %q, want warn with 12000 dead and VACUUM", c.Status, c.Detail, c.Fix)
	}
	exec(t, admin, c.Fix)
	if c := find(t, check(t, admin, Params{}), "outbox.dead_tuples"); c.Status != OK {
		t.Errorf("after VACUUM dead tuples = %s %q", c.Status, c.Detail)
	}
}

func TestDeadTupleRatio(t *testing.T) {
	db := pgtest.NewDB(t)
	admin := db.Admin(t)
	exec(t, admin,
		"ALTER TABLE public.outbox SET (autovacuum_enabled = false)",
		"INSERT INTO public.outbox (mutation_id, channel, name) SELECT g::text, 'c', 'n' FROM generate_series(1, 5000) g",
		"DELETE FROM public.outbox WHERE sequence_id <= 2000") // 2000 dead, 3000 live: 67%
	flushStats(t, admin)
	if c := find(t, check(t, admin, Params{}), "outbox.dead_tuples"); c.Status != Warn {
		t.Errorf("2000 dead of 5000 = %s %q, want warn", c.Status, c.Detail)
	}
}

func TestTombstone(t *testing.T) {
	db := pgtest.NewDB(t)
	admin := db.Admin(t)
	exec(t, admin, "INSERT INTO public.outbox (mutation_id, channel, name, processed) VALUES ('a', 'c', 'n', true)")
	if c := find(t, check(t, admin, Params{}), "outbox.tombstone"); c.Status != OK || !strings.Contains(c.Detail, "1 processed row") {
		t.Errorf("one processed row = %s %q, want ok", c.Status, c.Detail)
	}
	exec(t, admin, "INSERT INTO public.outbox (mutation_id, channel, name, processed) VALUES ('b', 'c', 'n', true), ('c', 'c', 'n', true), ('d', 'c', 'n', false)")
	c := find(t, check(t, admin, Params{}), "outbox.tombstone")
	if c.Status != Warn || !strings.Contains(c.Detail, "3 processed rows") {
		t.Fatalf("three processed rows = %s %q, want warn", c.Status, c.Detail)
	}
	exec(t, admin, c.Fix)
	rows, err := admin.Query(context.Background(), "SELECT sequence_id FROM public.outbox ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0] != 3 || left[1] != 4 {
		t.Errorf("after the fix rows %v remain, want [3 4] (the newest processed row and the pending one)", left)
	}
	if c := find(t, check(t, admin, Params{}), "outbox.tombstone"); c.Status != OK {
		t.Errorf("after the fix tombstone = %s %q", c.Status, c.Detail)
	}
}

// Above the exact-scan size the check reads planner statistics.
func TestTombstoneFromStatistics(t *testing.T) {
	old := exactTombstoneRows
	exactTombstoneRows = 10
	t.Cleanup(func() { exactTombstoneRows = old })
	db := pgtest.NewDB(t)
	admin := db.Admin(t)
	exec(t, admin,
		"ALTER TABLE public.outbox SET (autovacuum_enabled = false)", // no autoanalyze before the first check
		"INSERT INTO public.outbox (mutation_id, channel, name, processed) SELECT g::text, 'c', 'n', g % 2 = 0 FROM generate_series(1, 1000) g")
	flushStats(t, admin)
	if c := find(t, check(t, admin, Params{}), "outbox.tombstone"); c.Status != OK || !strings.Contains(c.Detail, "ANALYZE") {
		t.Errorf("no statistics = %s %q, want ok advising ANALYZE", c.Status, c.Detail)
	}
	exec(t, admin, "ANALYZE public.outbox")
	if c := find(t, check(t, admin, Params{}), "outbox.tombstone"); c.Status != Warn || !strings.Contains(c.Detail, "about 500 processed rows") {
		t.Errorf("500 of 1000 processed = %s %q, want warn estimating 500", c.Status, c.Detail)
	}
}

// An index with the recommended definition counts whatever its name.
func TestIndexMatchedByDefinition(t *testing.T) {
	db := pgtest.NewDB(t)
	admin := db.Admin(t)
	exec(t, admin, "DROP INDEX public.outbox_rejected_idx", "CREATE INDEX my_rejected ON public.outbox (sequence_id) WHERE rejected")
	c := find(t, check(t, admin, Params{}), "index.rejected_idx")
	if c.Status != OK || !strings.Contains(c.Detail, "my_rejected") {
		t.Errorf("renamed index = %s %q, want ok naming my_rejected", c.Status, c.Detail)
	}
	exec(t, admin, "DROP INDEX public.my_rejected", "CREATE INDEX my_rejected ON public.outbox (sequence_id) WHERE processed")
	if c := find(t, check(t, admin, Params{}), "index.rejected_idx"); c.Status != Warn {
		t.Errorf("index with another predicate = %s %q, want warn", c.Status, c.Detail)
	}
}

func TestNotifyChannels(t *testing.T) {
	for src, want := range map[string]string{
		"PERFORM pg_notify('ably_adbc', '');":     "ably_adbc",
		"PERFORM PG_NOTIFY ( 'it''s' , 'x');":     "it's",
		"NOTIFY ably_adbc;":                       "ably_adbc",
		"BEGIN\nNOTIFY \"Other\", 'payload'; END": "Other",
	} {
		got := notifyChannels(src)
		if len(got) != 1 || got[0] != want {
			t.Errorf("notifyChannels(%q) = %q, want [%q]", src, got, want)
		}
	}
}
