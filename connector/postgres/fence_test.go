package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestOutboxFence: a lock with plenty of time left is confirmed without a
// write, one running low is extended, and rows another node holds, rows
// already processed and rows nobody locked are not returned.
func TestOutboxFence(t *testing.T) {
	e := newEnv(t)
	e.insertSpread(t, "f", 5, 5)
	const me, other = "fence-me", "fence-other"
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id IN (1, 4)`, me)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '2 seconds' WHERE sequence_id = 2`, me)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 3`, other)
	e.exec(t, `UPDATE outbox SET processed = true WHERE sequence_id = 4`)
	xmin := func(id int64) int64 {
		return e.count(t, "SELECT xmin::text::bigint FROM outbox WHERE sequence_id = $1", id)
	}
	before1, before2 := xmin(1), xmin(2)

	s := e.store(t, "fence test")
	got, err := s.OutboxFence(context.Background(), OutboxFenceParams{Node: me, IDs: []int64{1, 2, 3, 4, 5}, LockTTL: 30 * time.Second, ExtendBelow: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("fence returned %v, want rows 1 and 2 only", got)
	}
	for _, id := range []int64{1, 2} {
		if left := got[id]; left < 25*time.Second || left > 31*time.Second {
			t.Errorf("row %d: %s left, want about 30s", id, left)
		}
	}
	if xmin(1) != before1 {
		t.Error("row 1 (28+ s left) was rewritten; a fence with time to spare must only read")
	}
	if xmin(2) == before2 {
		t.Error("row 2 (2 s left) was not extended")
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE sequence_id = 2 AND lock_expiry > (now() AT TIME ZONE 'utc') + interval '25 seconds'`); n != 1 {
		t.Error("row 2's lock_expiry was not pushed forward")
	}
}

// TestOutboxFenceConcurrentExtend: a lock the node's own heartbeat extends
// while a fence is waiting to extend it is still confirmed. The fence's
// UPDATE re-checks the row after the other transaction commits and finds
// nothing left to extend, while its read part still sees the row's old
// version; the row must not fall between the two (that made a node drop
// its queue with a spurious "lost row locks" under load).
func TestOutboxFenceConcurrentExtend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.insertSpread(t, "fx", 2, 2)
	const me = "fence-me"
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '2 seconds' WHERE sequence_id = 1`, me)
	e.exec(t, `UPDATE outbox SET locked_by = $1, lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 2`, me)

	// The heartbeat's extension of row 1, not yet committed.
	hb, err := pgx.Connect(ctx, e.db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close(ctx)
	tx, err := hb.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `UPDATE outbox SET lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 1 AND locked_by = $1`, me); err != nil {
		t.Fatal(err)
	}

	s := e.store(t, "fence-race")
	type result struct {
		got map[int64]time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := s.OutboxFence(ctx, OutboxFenceParams{Node: me, IDs: []int64{1, 2}, LockTTL: 30 * time.Second, ExtendBelow: 20 * time.Second})
		done <- result{got, err}
	}()
	waitFor(t, 10*time.Second, "the fence to wait for row 1's row lock", func() bool {
		return e.count(t, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fence-race' AND wait_event_type = 'Lock'`) == 1
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, id := range []int64{1, 2} {
		if left, ok := r.got[id]; !ok || left < 25*time.Second || left > 31*time.Second {
			t.Errorf("row %d: confirmed %v with %s left, want confirmed with about 30s (fence returned %v)", id, ok, left, r.got)
		}
	}
}
