package monitor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
)

func TestSnapshotHandSeededScenario(t *testing.T) {
	db := pgtest.NewDB(t)
	seedScenario(t, db)
	m := newMonitor(t, db, monitor.Options{})
	ctx := context.Background()
	s, err := m.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := s.Outbox
	if o.Pending != 4 || o.RejectedPending != 1 || o.Locked != 1 || o.Estimated {
		t.Fatalf("counts: pending %d rejected %d locked %d estimated %v; want 4, 1, 1, false", o.Pending, o.RejectedPending, o.Locked, o.Estimated)
	}
	if o.MaxSequenceID == nil || *o.MaxSequenceID != 5 || o.TombstoneSequenceID == nil || *o.TombstoneSequenceID != 1 {
		t.Fatalf("max %v tombstone %v; want 5 and 1", o.MaxSequenceID, o.TombstoneSequenceID)
	}
	if o.OldestPendingSequenceID == nil || *o.OldestPendingSequenceID != 2 || o.OldestPendingAgeSeconds == nil || o.OldestClaimableAgeSeconds == nil {
		t.Fatalf("oldest pending %v age %v claimable %v", o.OldestPendingSequenceID, o.OldestPendingAgeSeconds, o.OldestClaimableAgeSeconds)
	}
	// Row 2 was inserted already locked: it is a never-updated row by xmin
	// but has a lock, so it is dated by first-seen or its lock.
	if o.AgeSource == "" || o.ClaimableAgeSource == "" {
		t.Fatalf("age sources %q %q", o.AgeSource, o.ClaimableAgeSource)
	}
	alive := map[string]bool{}
	for _, n := range s.Nodes {
		alive[n.ID] = n.Alive
		if n.Alive != (n.ExpiresInSeconds > 0) {
			t.Errorf("node %s alive %v with %v s left", n.ID, n.Alive, n.ExpiresInSeconds)
		}
	}
	if len(s.Nodes) != 2 || alive["node-dead"] || !alive["node-live"] {
		t.Fatalf("nodes %+v", s.Nodes)
	}
	reasons := map[int64]monitor.Reason{}
	for _, st := range s.Stuck {
		reasons[st.SequenceID] = st.Reason
		if st.Detail == "" || st.Action == "" {
			t.Errorf("stuck %d has no detail or action: %+v", st.SequenceID, st)
		}
	}
	if reasons[2] != monitor.OwnerDead || reasons[3] != monitor.LockExpired || len(reasons) != 2 {
		t.Fatalf("stuck reasons %v; want 2 owner-dead, 3 lock-expired, nothing else", reasons)
	}
	if !s.Trigger.Present || !s.Trigger.Correct {
		t.Fatalf("trigger %+v", s.Trigger)
	}
	// Rows 2-5 were inserted after the processed row 1: no inversion.
	if hasWarning(s, "out-of-order") || hasWarning(s, "empty-outbox") {
		t.Fatalf("warnings %+v", s.Warnings)
	}
	if len(s.Channels) != 4 {
		t.Fatalf("channels %+v; want the 4 channels with pending rows", s.Channels)
	}
}

func hasWarning(s *monitor.Snapshot, code string) bool {
	for _, w := range s.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

func TestSnapshotWithoutOutboxGivesDoctorAdvice(t *testing.T) {
	db := pgtest.NewEmptyDB(t)
	m := monitor.New(newPool(t, db.AdminURL), monitor.Options{})
	_, err := m.Snapshot(context.Background())
	if !errors.Is(err, monitor.ErrNoOutbox) {
		t.Fatalf("err %v; want ErrNoOutbox", err)
	}
}
