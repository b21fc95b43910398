package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// blockPoison inserts a row on poison, a 70 KiB row (40009) and a row after
// it, starts a node and waits until it blocks poison at the big row. It
// returns the node and the big row's id.
func blockPoison(t *testing.T, e *env, events <-chan connector.Event) (*Node, int64) {
	t.Helper()
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('ok', 'poison', 'n', '1')`)
	var big int64
	if err := e.admin.QueryRow(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data)
VALUES ('huge', 'poison', 'n', to_jsonb(repeat('x', 70*1024))) RETURNING sequence_id`).Scan(&big); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('after', 'poison', 'n', '3')`)
	n := startNode(t, e.options())
	waitEvent(t, events, 20*time.Second, "poison blocked", func(ev connector.Event) bool {
		return ev.Kind == connector.EventBlocked && ev.Channel == "poison" && ev.SequenceID == big && ev.Code == 40009
	})
	return n, big
}

// retry runs `outbox retry` on id exactly as the CLI does.
func retry(t *testing.T, e *env, id int64) {
	t.Helper()
	m := monitor.New(e.admin, monitor.Options{})
	if _, err := m.OutboxRetry(context.Background(), monitor.OutboxActionParams{IDs: []int64{id}}); err != nil {
		t.Fatalf("outbox retry %d: %v", id, err)
	}
}

// TestBlockedRowShrunkAndRetriedResumes: the advised fix for a row too large
// for Ably — shrink it, then `outbox retry` — resumes the channel: the
// shrunk row and the row after it arrive, in order, without a restart.
func TestBlockedRowShrunkAndRetriedResumes(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "poison")
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	n, big := blockPoison(t, e, events)
	s.waitCount(t, 1, 20*time.Second)
	e.exec(t, `UPDATE outbox SET data = '{"small": true}' WHERE sequence_id = $1`, big)
	// The UPDATE alone already resumes the channel: by the time `outbox
	// retry` runs the node may hold the row again (retry refuses to free a
	// live node's lock) or have published it (no such row). Either is fine.
	m := monitor.New(e.admin, monitor.Options{})
	if _, err := m.OutboxRetry(context.Background(), monitor.OutboxActionParams{IDs: []int64{big}}); err != nil {
		if !errors.Is(err, monitor.ErrRefused) && !errors.Is(err, monitor.ErrMissingRows) {
			t.Fatalf("outbox retry %d: %v", big, err)
		}
		t.Logf("outbox retry after the UPDATE: %v", err)
	}
	start := time.Now()
	s.waitCount(t, 3, 30*time.Second)
	t.Logf("poison resumed %.2fs after the update and retry", time.Since(start).Seconds())
	if ids := s.checkOrder(t); len(ids) != 3 {
		t.Fatalf("received %d distinct rows, want 3", len(ids))
	}
	waitFor(t, 10*time.Second, "channel no longer reported blocked", func() bool {
		c := channelOf(getState(t, n), "poison")
		return c == nil || (!c.Blocked && c.LastError == nil)
	})
}

// TestBlockedRowChangedOrRetriedIsTriedAgain: changing the blocking row alone
// (here its name is irrelevant to its size, so it fails again) makes the
// node try it again, and so does `outbox retry` alone: each is a new
// attempt of the same row, reported as a new block.
func TestBlockedRowChangedOrRetriedIsTriedAgain(t *testing.T) {
	e := newEnv(t)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	_, big := blockPoison(t, e, events)
	reblocked := func(what string) {
		t.Helper()
		waitEvent(t, events, 20*time.Second, "poison unblocked after "+what, func(ev connector.Event) bool {
			return ev.Kind == connector.EventUnblocked && ev.Channel == "poison"
		})
		waitEvent(t, events, 20*time.Second, "poison tried again and blocked after "+what, func(ev connector.Event) bool {
			return ev.Kind == connector.EventBlocked && ev.SequenceID == big
		})
	}
	e.exec(t, `UPDATE outbox SET name = 'renamed' WHERE sequence_id = $1`, big)
	reblocked("an UPDATE of its name")
	waitFor(t, 10*time.Second, "blocked row released", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE sequence_id = $1 AND locked_by IS NULL", big) == 1
	})
	retry(t, e, big)
	reblocked("outbox retry")
}

// TestBlockedRowShrunkResumes: shrinking the row without `outbox retry`
// also resumes the channel (the node compares the row with the one that
// failed).
func TestBlockedRowShrunkResumes(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "poison")
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	_, big := blockPoison(t, e, events)
	s.waitCount(t, 1, 20*time.Second)
	e.exec(t, `UPDATE outbox SET data = '{"small": true}' WHERE sequence_id = $1`, big)
	start := time.Now()
	s.waitCount(t, 3, 30*time.Second)
	t.Logf("poison resumed %.2fs after the update", time.Since(start).Seconds())
	s.checkOrder(t)
}

// TestBlockedRowDeletedResumes: deleting the blocking row resumes the
// channel with the row after it.
func TestBlockedRowDeletedResumes(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "poison")
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	_, big := blockPoison(t, e, events)
	s.waitCount(t, 1, 20*time.Second)
	e.exec(t, `DELETE FROM outbox WHERE sequence_id = $1`, big)
	start := time.Now()
	s.waitCount(t, 2, 30*time.Second)
	t.Logf("poison resumed %.2fs after the delete", time.Since(start).Seconds())
	s.checkOrder(t)
}
