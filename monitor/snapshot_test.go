package monitor_test

import (
	"context"
	"errors"
	"strings"
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

// TestOwnerDeadDetailReads: the detail of a row locked by a node that is
// gone reads as a sentence in both cases (issue 12: "whose is not in the
// nodes table").
func TestOwnerDeadDetailReads(t *testing.T) {
	db := pgtest.NewDB(t)
	seedScenario(t, db)
	exec(t, db, `INSERT INTO outbox (sequence_id, mutation_id, channel, name, locked_by, lock_expiry) VALUES
	   (6, 'm6', 'chan-e', 'e', 'node-vanished', (now() AT TIME ZONE 'utc') + interval '25 seconds')`)
	s, err := newMonitor(t, db, monitor.Options{}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{2: "locked by node node-dead, whose lease expired ", 6: "locked by node node-vanished, which is not in the nodes table;"}
	for _, st := range s.Stuck {
		if w, ok := want[st.SequenceID]; ok {
			if !strings.HasPrefix(st.Detail, w) {
				t.Errorf("row %d detail %q, want it to start %q", st.SequenceID, st.Detail, w)
			}
			delete(want, st.SequenceID)
		}
	}
	if len(want) != 0 {
		t.Fatalf("rows %v not reported stuck: %+v", want, s.Stuck)
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
