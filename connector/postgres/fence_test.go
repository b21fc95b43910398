package postgres

import (
	"context"
	"testing"
	"time"
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
