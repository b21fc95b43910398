package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// nodeStates is a ConnectorStates that reports fixed connector.NodeState
// values (the connector's own type; the scenario suite in cli checks them
// against real nodes).
func nodeStates(states ...connector.NodeState) monitor.ConnectorStates {
	return monitor.NodeStatesFunc(func(context.Context) ([]connector.NodeState, error) { return states, nil })
}

func stuckByID(s *monitor.Snapshot) map[int64]monitor.Stuck {
	out := map[int64]monitor.Stuck{}
	for _, st := range s.Stuck {
		out[st.SequenceID] = st
	}
	return out
}

func TestDiagnosisBlockedStopsItsChannel(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db,
		`INSERT INTO nodes (id, expiry) VALUES ('ours', (now() AT TIME ZONE 'utc') + interval '1 minute')`,
		`INSERT INTO outbox (mutation_id, channel, name, data) VALUES
		   ('a', 'big', 'e', '{}'), ('b', 'big', 'e', '{}'), ('c', 'big', 'e', '{}'), ('d', 'fine', 'e', '{}')`)
	conn := nodeStates(connector.NodeState{Node: "ours", Ably: connector.AblyConnState{State: "connected"}, Channels: []connector.ChannelState{
		{Channel: "big", Owner: "ours", Head: 1, Attempts: 1, Blocked: true, BlockedRow: 1,
			LastError: &connector.ErrorInfo{Code: 40009, Message: "message too large"}}}})
	m := newMonitor(t, db, monitor.Options{Connector: conn, OwnNodes: []string{"ours"}})
	s, err := m.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := stuckByID(s)
	if st[1].Reason != monitor.Blocked || st[1].ErrorCode != 40009 || st[1].ErrorMessage != "message too large" ||
		!strings.Contains(st[1].Action, "outbox retry 1") {
		t.Fatalf("row 1: %+v", st[1])
	}
	if st[2].Reason != monitor.Behind || st[3].Reason != monitor.Behind {
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

// TestDiagnosisRowLockedAndLockWithoutExpiry: a head row held by another
// session's open transaction names that session; a row with locked_by and
// no lock_expiry gets the SQL that frees it, and running it clears the
// reason.
func TestDiagnosisRowLockedAndLockWithoutExpiry(t *testing.T) {
	db := pgtest.NewDB(t)
	exec(t, db,
		`INSERT INTO nodes (id, expiry) VALUES ('ours', (now() AT TIME ZONE 'utc') + interval '1 minute')`,
		`INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'held', 'e', '{}'), ('b', 'nulllock', 'e', '{}')`,
		`UPDATE outbox SET locked_by = 'app' WHERE sequence_id = 2`)
	ctx := context.Background()
	app := db.Admin(t)
	if _, err := app.Exec(ctx, `SET application_name = 'orders-service'`); err != nil {
		t.Fatal(err)
	}
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM outbox WHERE sequence_id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	m := newMonitor(t, db, monitor.Options{OwnNodes: []string{"ours"}, Connector: nodeStates()})
	var st map[int64]monitor.Stuck
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s, err := m.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st = stuckByID(s); st[1].Reason == monitor.RowLocked || time.Now().After(deadline) {
			break
		}
	}
	h := st[1].Holder
	if st[1].Reason != monitor.RowLocked || h == nil || h.PID != pid || h.ApplicationName != "orders-service" {
		t.Fatalf("row 1: %+v holder %+v; want row-locked by pid %d", st[1], h, pid)
	}
	if st[2].Reason != monitor.LockNoExpiry || !strings.Contains(st[2].FixSQL, "lock_expiry = NULL") {
		t.Fatalf("row 2: %+v", st[2])
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, db, st[2].FixSQL)
	s, err := m.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st = stuckByID(s); len(st) != 0 {
		t.Fatalf("stuck %+v after the fixes", s.Stuck)
	}
}
