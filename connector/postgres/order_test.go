package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestOrderAcrossNodesJoiningAndLeaving: 3 nodes share 50 channels while a
// fourth joins and one leaves mid-stream, and an application transaction
// holds one channel's head row; every row arrives exactly once, in order
// per channel, and exactly one processed row remains.
func TestOrderAcrossNodesJoiningAndLeaving(t *testing.T) {
	e := newEnv(t)
	chans := channelNames("o", 50)
	s := e.subscribe(t, chans...)
	opts := e.options()
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()

	// An application transaction locks channel o7's head row first.
	e.insertSpread(t, "o", 500, 50)
	ctx := context.Background()
	tx, err := e.admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var head int64
	if err := tx.QueryRow(ctx, `SELECT sequence_id FROM outbox WHERE channel = 'o7' ORDER BY sequence_id LIMIT 1 FOR UPDATE`).Scan(&head); err != nil {
		t.Fatal(err)
	}

	a := startNode(t, opts)
	b := startNode(t, opts)
	startNode(t, opts)
	// Everything but o7 (10 rows) flows while its head is held.
	s.waitCount(t, 490, 60*time.Second)
	s.mu.Lock()
	o7 := len(s.msgs["o7"])
	s.mu.Unlock()
	if o7 != 0 {
		t.Fatalf("channel o7 published %d rows while its head row %d was locked by another transaction", o7, head)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// More rows, inserted continuously on another connection while a node
	// joins and two leave; membership changes are paced by deliveries.
	ins := e.db.Admin(t)
	insErr := make(chan error, 1)
	go func() {
		for i := 0; i < 30; i++ {
			if _, err := ins.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name, data)
SELECT 'm-' || g, 'o' || (g % 50), 'ev', jsonb_build_object('g', g) FROM generate_series(1, 50) g`); err != nil {
				insErr <- err
				return
			}
		}
		insErr <- nil
	}()
	s.waitCount(t, 800, 60*time.Second)
	startNode(t, opts)
	s.waitCount(t, 1100, 60*time.Second)
	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := a.Stop(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s.waitCount(t, 1400, 60*time.Second)
	if err := b.Stop(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := <-insErr; err != nil {
		t.Fatal(err)
	}
	e.insertSpread(t, "o", 500, 50)
	s.waitCount(t, 2500, 90*time.Second)
	ids := s.checkOrder(t)
	if len(ids) != 2500 {
		t.Fatalf("received %d distinct ids, want 2500", len(ids))
	}
	waitFor(t, 20*time.Second, "exactly one processed row left", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox") == 1 && e.count(t, "SELECT count(*) FROM outbox WHERE processed") == 1
	})
	if got := e.count(t, "SELECT count(*) FROM outbox WHERE processed AND sequence_id = (SELECT max(sequence_id) FROM outbox)"); got != 1 {
		t.Errorf("the remaining row is not the processed max")
	}
	if got := e.count(t, "SELECT count(*) FROM nodes"); got != 2 {
		t.Errorf("nodes table has %d rows, want 2 (the stopped nodes delete theirs)", got)
	}
	claimed := 0
	for len(events) > 0 {
		if ev := <-events; ev.Kind == connector.EventClaimed {
			claimed += ev.Rows
		}
	}
	if claimed < 2500 {
		t.Errorf("claimed events count %d rows, want ≥ 2500", claimed)
	}
}

// TestTakeoverAfterKill: a node dies without cleanup mid-stream; the others
// reap it, take its channels once its locks lapse, and no row is lost or
// delivered twice.
func TestTakeoverAfterKill(t *testing.T) {
	e := newEnv(t)
	chans := channelNames("k", 20)
	s := e.subscribe(t, chans...)
	opts := e.options()
	events, unsub := e.bus.Subscribe(100000)
	defer unsub()
	victim := startNode(t, opts)
	startNode(t, opts)
	startNode(t, opts)
	e.insertSpread(t, "k", 400, 20)
	// Kill the victim once it has published something, so it dies holding rows.
	waitEvent(t, events, 30*time.Second, "victim publishes", func(ev connector.Event) bool {
		return ev.Kind == connector.EventPublished && ev.Node == victim.ID()
	})
	victim.Kill()
	e.insertSpread(t, "k", 400, 20)
	s.waitCount(t, 800, 60*time.Second)
	if ids := s.checkOrder(t); len(ids) != 800 {
		t.Fatalf("received %d distinct ids, want 800", len(ids))
	}
	waitFor(t, 20*time.Second, "victim's node row reaped", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes WHERE id = $1", victim.ID()) == 0
	})
	waitFor(t, 20*time.Second, "one tombstone", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox") == 1
	})
}

// TestLockedHeadDoesNotStarveOtherChannels: a channel with more pending rows
// than a claim batch has its head row locked by an application
// transaction; channels whose rows come after it still flow.
func TestLockedHeadDoesNotStarveOtherChannels(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "x", "y")
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) SELECT 'x' || g, 'x', 'n', to_jsonb(g) FROM generate_series(1, 150) g`)
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) SELECT 'y' || g, 'y', 'n', to_jsonb(g) FROM generate_series(1, 5) g`)
	ctx := context.Background()
	tx, err := e.admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM outbox WHERE sequence_id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	startNode(t, e.options())
	s.waitCount(t, 5, 20*time.Second)
	s.mu.Lock()
	x, y := len(s.msgs["x"]), len(s.msgs["y"])
	s.mu.Unlock()
	if x != 0 || y != 5 {
		t.Fatalf("delivered x=%d y=%d while x's head was locked, want 0 and 5", x, y)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, 155, 30*time.Second)
	s.checkOrder(t)
}

// TestLazyFence: with lazy fencing (the claim counts as the first
// attempt's fence) everything still arrives in order, no lock is lost.
func TestLazyFence(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, channelNames("fe", 10)...)
	events, unsub := e.bus.Subscribe(100000)
	defer unsub()
	opts := e.options()
	opts.LazyFence = true
	e.insertSpread(t, "fe", 1000, 10)
	startNode(t, opts)
	s.waitCount(t, 1000, 60*time.Second)
	if ids := s.checkOrder(t); len(ids) != 1000 {
		t.Fatalf("received %d distinct ids, want 1000", len(ids))
	}
	for len(events) > 0 {
		if ev := <-events; ev.Kind == connector.EventLeaseLost {
			t.Errorf("unexpected %+v", ev)
		}
	}
}
