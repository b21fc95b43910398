package postgres

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestOutboxCompleteTombstones drives OutboxComplete directly: acked rows
// below the table's max are deleted, the max stays as the one tombstone,
// an earlier tombstone goes once a higher row is completed, a processed row
// another node left just below a new tombstone is swept, a row whose lock
// another node holds is left alone, and a completion that fails (the
// completion lock is held elsewhere) changes nothing and leaves the
// connection usable.
func TestOutboxCompleteTombstones(t *testing.T) {
	e := newEnv(t)
	const me, other = "complete-me", "complete-other"
	e.insertSpread(t, "t", 6, 2)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id <> 3`, me)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 3`, other)
	ctx := context.Background()
	s := e.store(t, "complete test")
	ids := func(sql string) []int64 {
		t.Helper()
		rows, err := e.admin.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}

	// 1, 2 and 3 (another node's) acked, 6 the max: 1 and 2 go, 3 stays
	// unprocessed, 6 becomes the tombstone.
	still, err := s.OutboxComplete(ctx, OutboxCompleteParams{Node: me, IDs: []int64{1, 2, 3, 6}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(still, []int64{6}) {
		t.Fatalf("tombstones after the first completion: %v, want [6]", still)
	}
	if got := ids(`SELECT sequence_id FROM outbox ORDER BY 1`); !slices.Equal(got, []int64{3, 4, 5, 6}) {
		t.Fatalf("rows left: %v, want [3 4 5 6]", got)
	}
	if got := ids(`SELECT sequence_id FROM outbox WHERE processed ORDER BY 1`); !slices.Equal(got, []int64{6}) {
		t.Fatalf("processed rows: %v, want [6]", got)
	}

	// While another session holds the completion lock, a completion given
	// up on (its context ends) changes nothing.
	tx, err := e.db.Admin(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClassComplete); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = s.OutboxComplete(short, OutboxCompleteParams{Node: me, IDs: []int64{4}, Tombstones: still})
	cancel()
	if err == nil {
		t.Fatal("completion succeeded while the completion lock was held elsewhere")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(`SELECT sequence_id FROM outbox ORDER BY 1`); !slices.Equal(got, []int64{3, 4, 5, 6}) {
		t.Fatalf("rows after the failed completion: %v, want [3 4 5 6]", got)
	}

	// Another node left row 7 processed; row 8 (ours) is the new max: the
	// walk below it sweeps 7, the old tombstone 6 goes, 8 is the tombstone.
	e.insertSpread(t, "t", 2, 2)
	e.exec(t, `UPDATE outbox SET processed = true WHERE sequence_id = 7`)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 8`, me)
	still, err = s.OutboxComplete(ctx, OutboxCompleteParams{Node: me, IDs: []int64{4, 5, 8}, Tombstones: still})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(still, []int64{8}) {
		t.Fatalf("tombstones after the second completion: %v, want [8]", still)
	}
	if got := ids(`SELECT sequence_id FROM outbox ORDER BY 1`); !slices.Equal(got, []int64{3, 8}) {
		t.Fatalf("rows left: %v, want [3 8] (3 is another node's)", got)
	}

	// Retain keeps acked rows, marked processed.
	e.insertSpread(t, "t", 1, 1)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 9`, me)
	if _, err := s.OutboxComplete(ctx, OutboxCompleteParams{Node: me, IDs: []int64{9}, Retain: true}); err != nil {
		t.Fatal(err)
	}
	if got := ids(`SELECT sequence_id FROM outbox WHERE processed AND locked_by IS NULL ORDER BY 1`); !slices.Equal(got, []int64{8, 9}) {
		t.Fatalf("processed rows after a retaining completion: %v, want [8 9]", got)
	}
}

// TestOutboxReleaseVersions: a release returns each released row's new
// version, the one OutboxRowVersions reads until the row is written again
// (as `outbox retry` does); rows another node holds are not released.
func TestOutboxReleaseVersions(t *testing.T) {
	e := newEnv(t)
	const me, other = "release-me", "release-other"
	e.insertSpread(t, "r", 3, 1)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id IN (1, 2)`, me)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 3`, other)
	ctx := context.Background()
	s := e.store(t, "release test")
	got, err := s.OutboxRelease(ctx, OutboxReleaseParams{Node: me, IDs: []int64{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] == 0 || got[2] == 0 {
		t.Fatalf("release returned %v, want versions of rows 1 and 2", got)
	}
	now, err := s.OutboxRowVersions(ctx, []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{1, 2} {
		if now[id].Xmin != got[id] {
			t.Errorf("row %d: version %d after the release, release returned %d", id, now[id].Xmin, got[id])
		}
	}
	retry(t, e, 1)
	if now, err = s.OutboxRowVersions(ctx, []int64{1}); err != nil {
		t.Fatal(err)
	}
	if now[1].Xmin == got[1] {
		t.Error("outbox retry left row 1's version as the release wrote it: a retry could not be told from the release")
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE sequence_id = 3 AND locked_by = $1`, other); n != 1 {
		t.Error("row 3, another node's, was released")
	}
}
