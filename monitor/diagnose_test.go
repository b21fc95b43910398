package monitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// fakeConnector is a ConnectorStates seam with fixed answers.
type fakeConnector map[string]monitor.ChannelError

func (f fakeConnector) ChannelErrors(context.Context) (map[string]monitor.ChannelError, error) {
	return f, nil
}

func stuckByID(s *monitor.Snapshot) map[int64]monitor.Stuck {
	out := map[int64]monitor.Stuck{}
	for _, st := range s.Stuck {
		out[st.SequenceID] = st
	}
	return out
}

func TestDiagnosisPublishFailingBlocksItsChannel(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db,
		`INSERT INTO nodes (id, expiry) VALUES ('ours', (now() AT TIME ZONE 'utc') + interval '1 minute')`,
		`INSERT INTO outbox (mutation_id, channel, name, data) VALUES
		   ('a', 'big', 'e', '{}'), ('b', 'big', 'e', '{}'), ('c', 'big', 'e', '{}'), ('d', 'fine', 'e', '{}')`)
	conn := fakeConnector{"big": {Channel: "big", Owner: "ours", SequenceID: 1, Attempts: 3, Code: 40009, Message: "message too large"}}
	m := newMonitor(t, db, monitor.Options{Connector: conn, OwnNodes: []string{"ours"}})
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := stuckByID(s)
	if st[1].Reason != monitor.PublishFailing || st[1].ErrorCode != 40009 || st[1].ErrorMessage != "message too large" {
		t.Fatalf("row 1: %+v", st[1])
	}
	if st[2].Reason != monitor.Blocked || st[3].Reason != monitor.Blocked {
		t.Fatalf("rows behind the failing head: %+v %+v", st[2], st[3])
	}
	if _, ok := st[4]; ok || len(st) != 3 {
		t.Fatalf("stuck %+v; the healthy channel must not be blamed", s.Stuck)
	}
	if !s.Nodes[0].Own || !s.Nodes[0].Alive {
		t.Fatalf("node %+v", s.Nodes[0])
	}
}

func TestDiagnosisNoLiveNodeAndWaiting(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'c1', 'e', '{}'), ('b', 'c1', 'e', '{}')`)
	m := newMonitor(t, db, monitor.Options{StuckAfter: time.Nanosecond})
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := stuckByID(s)
	if len(st) != 1 || st[1].Reason != monitor.NoLiveNode {
		t.Fatalf("stuck %+v; want only the head as no-live-node", s.Stuck)
	}
	exec(t, db, `INSERT INTO nodes (id, expiry) VALUES ('theirs', (now() AT TIME ZONE 'utc') + interval '1 minute')`)
	s, err = m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st = stuckByID(s)
	if len(st) != 1 || st[1].Reason != monitor.Waiting {
		t.Fatalf("stuck %+v; want the head waiting", s.Stuck)
	}
	if len(s.Notes) == 0 || s.Outbox.AgeSource != "commit-timestamp" {
		t.Fatalf("notes %v age source %q: a read-only view must say publish errors cannot be known", s.Notes, s.Outbox.AgeSource)
	}
	// A fresh row under the default threshold is not stuck.
	fresh := newMonitor(t, db, monitor.Options{StuckAfter: time.Hour})
	if s, err = fresh.Snapshot(context.Background()); err != nil || len(s.Stuck) != 0 {
		t.Fatalf("stuck %+v (%v)", s.Stuck, err)
	}
}

func TestRetryByFilterFreesOnlyStuckRows(t *testing.T) {
	db := pgtest.NewDB(t)
	seedScenario(t, db)
	exec(t, db, `INSERT INTO outbox (mutation_id, channel, name, locked_by, lock_expiry) VALUES
	  ('m6', 'chan-e', 'e', 'node-live', (now() AT TIME ZONE 'utc') + interval '30 seconds')`)
	m := newMonitor(t, db, monitor.Options{})
	res, err := m.OutboxRetry(context.Background(), monitor.OutboxActionParams{ByFilter: true, Filter: monitor.StuckRows})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SequenceIDs) != 2 || res.SequenceIDs[0] != 2 || res.SequenceIDs[1] != 3 {
		t.Fatalf("retried %v; want 2 and 3 (row 6 has a live lock)", res.SequenceIDs)
	}
	ro := newMonitor(t, db, monitor.Options{ReadOnly: true})
	if _, err := ro.OutboxDelete(context.Background(), monitor.OutboxActionParams{IDs: []int64{5}}); err != monitor.ErrReadOnly {
		t.Fatalf("read-only delete: %v", err)
	}
}
