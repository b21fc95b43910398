package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// insertOne inserts one row on channel and returns its id.
func (e *env) insertOne(t *testing.T, channel string) int64 {
	t.Helper()
	var id int64
	if err := e.admin.QueryRow(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data)
VALUES ('m', $1, 'n', '1') RETURNING sequence_id`, channel).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// waitPublished waits until row id was published and returns the node that
// published it.
func waitPublished(t *testing.T, events <-chan connector.Event, id int64) string {
	t.Helper()
	return waitEvent(t, events, 20*time.Second, "row published", func(ev connector.Event) bool {
		return ev.Kind == connector.EventPublished && ev.SequenceID == id
	}).Node
}

// waitOneTombstone waits until the outbox holds exactly one row: max, processed.
func (e *env) waitOneTombstone(t *testing.T, max int64) {
	t.Helper()
	waitFor(t, 20*time.Second, "exactly one processed row, the max", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox") == 1 &&
			e.count(t, "SELECT count(*) FROM outbox WHERE processed AND sequence_id = $1", max) == 1
	})
}

// waitNextHeartbeat waits until n's lease is renewed again.
func (e *env) waitNextHeartbeat(t *testing.T, n *Node) {
	t.Helper()
	var before time.Time
	if err := e.admin.QueryRow(context.Background(), "SELECT expiry FROM nodes WHERE id = $1", n.ID()).Scan(&before); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "next heartbeat", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes WHERE id = $1 AND expiry > $2", n.ID(), before) == 1
	})
}

func stopNode(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestOneTombstoneAfterRestart: run, insert, stop, run again, insert — the
// first run's tombstone goes once the second row is completed.
func TestOneTombstoneAfterRestart(t *testing.T) {
	e := newEnv(t)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	a := startNode(t, e.options())
	first := e.insertOne(t, "t1")
	waitPublished(t, events, first)
	e.waitOneTombstone(t, first)
	stopNode(t, a)
	startNode(t, e.options())
	second := e.insertOne(t, "t1")
	waitPublished(t, events, second)
	e.waitOneTombstone(t, second)
}

// TestOneTombstoneAfterKillAndRestart: run, insert, kill, run again; the
// new node reaps the killed one, then a row is inserted.
func TestOneTombstoneAfterKillAndRestart(t *testing.T) {
	e := newEnv(t)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	a := startNode(t, e.options())
	first := e.insertOne(t, "t2")
	waitPublished(t, events, first)
	e.waitOneTombstone(t, first)
	a.Kill()
	b := startNode(t, e.options())
	waitEvent(t, events, 20*time.Second, "the killed node reaped", func(ev connector.Event) bool {
		return ev.Kind == connector.EventInfo && ev.Message == "reaped expired nodes"
	})
	e.waitNextHeartbeat(t, b) // the reaping heartbeat has finished
	second := e.insertOne(t, "t2")
	waitPublished(t, events, second)
	e.waitOneTombstone(t, second)
}

// TestOneTombstoneAfterPeerStops: two nodes run; the one that left the
// tombstone stops gracefully; the other completes the next row.
func TestOneTombstoneAfterPeerStops(t *testing.T) {
	e := newEnv(t)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	nodes := map[string]*Node{}
	for i := 0; i < 2; i++ {
		n := startNode(t, e.options())
		nodes[n.ID()] = n
	}
	first := e.insertOne(t, "t3")
	owner := waitPublished(t, events, first)
	e.waitOneTombstone(t, first)
	stopNode(t, nodes[owner])
	if got := e.count(t, "SELECT count(*) FROM nodes"); got != 1 {
		t.Fatalf("%d node rows after one of two stopped", got)
	}
	second := e.insertOne(t, "t3")
	waitPublished(t, events, second)
	e.waitOneTombstone(t, second)
}

// TestOneTombstoneAfterPeerKilledAndReaped: two nodes run; the one that
// left the tombstone is killed and reaped by the other.
func TestOneTombstoneAfterPeerKilledAndReaped(t *testing.T) {
	e := newEnv(t)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	nodes := map[string]*Node{}
	for i := 0; i < 2; i++ {
		n := startNode(t, e.options())
		nodes[n.ID()] = n
	}
	first := e.insertOne(t, "t4")
	owner := waitPublished(t, events, first)
	e.waitOneTombstone(t, first)
	nodes[owner].Kill()
	ev := waitEvent(t, events, 20*time.Second, "the killed node reaped", func(ev connector.Event) bool {
		return ev.Kind == connector.EventInfo && ev.Message == "reaped expired nodes"
	})
	e.waitNextHeartbeat(t, nodes[ev.Node]) // the reaping heartbeat has finished
	second := e.insertOne(t, "t4")
	waitPublished(t, events, second)
	e.waitOneTombstone(t, second)
}
