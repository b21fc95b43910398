package postgres

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal"
)

// TestStalledNodeCannotResendAfterTakeover: node A (a child process) sends
// row 2 over a connection whose network path silently dies, and is then
// SIGSTOPped; node B takes the channel over and publishes rows 2 and 3.
// When A wakes after Ably's dedupe window for row 2 has passed, ably-go
// would re-send the unacknowledged row 2 on its next transport — a
// duplicate after row 3. A drops that connection at the row's lock
// deadline instead, so the subscriber sees 1, 2, 3, 4 exactly once.
func TestStalledNodeCannotResendAfterTakeover(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	e := newEnv(t)
	ctx := context.Background()
	// A short dedupe window makes a late re-send visible; a short idle
	// interval makes ably-go notice the dead transport soon.
	srv, err := ablylocal.Start(ctx, ablylocal.Options{DedupeWindow: time.Second, MaxIdleInterval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.ably, e.key = srv, srv.Keys()[0].String()
	px := startProxy(t, srv.Addr())
	a, _ := startChildVia(t, e, px.addr())
	waitFor(t, 30*time.Second, "node A registered", func() bool { return e.count(t, "SELECT count(*) FROM nodes") == 1 })
	var aID string
	if err := e.admin.QueryRow(ctx, "SELECT id FROM nodes").Scan(&aID); err != nil {
		t.Fatal(err)
	}
	startNode(t, e.options()) // node B, straight to the endpoint
	waitFor(t, 30*time.Second, "node B registered", func() bool { return e.count(t, "SELECT count(*) FROM nodes") == 2 })
	aIdx := e.count(t, "SELECT count(*) FROM nodes WHERE id < $1", aID)
	ch := ""
	for i := 0; ch == ""; i++ {
		name := fmt.Sprintf("w%d", i)
		if e.count(t, "SELECT mod(hashtext($1)::bigint + 2147483648, 2)", name) == aIdx {
			ch = name
		}
	}
	s := e.subscribe(t, ch)
	ids := []int64{e.insertOne(t, ch)}
	s.waitCount(t, 1, 20*time.Second)
	waitFor(t, 20*time.Second, "A got row 1's ACK (row completed)", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE sequence_id = $1 AND processed", ids[0]) == 1
	})

	px.freeze()
	ids = append(ids, e.insertOne(t, ch))
	waitFor(t, 20*time.Second, "A sending row 2 into the dead connection", func() bool {
		return px.swallow.Load() > 0 && e.count(t, "SELECT count(*) FROM outbox WHERE sequence_id = $1 AND locked_by = $2", ids[1], aID) == 1
	})
	if err := a.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, 2, 30*time.Second) // B took over row 2
	ids = append(ids, e.insertOne(t, ch))
	s.waitCount(t, 3, 20*time.Second)
	time.Sleep(1500 * time.Millisecond) // the scenario: past the endpoint's dedupe window for row 2
	accepted := px.accepted.Load()
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "A on a new connection", func() bool { return px.accepted.Load() > accepted })
	waitFor(t, 30*time.Second, "A registered again", func() bool { return e.count(t, "SELECT count(*) FROM nodes") == 2 })
	ids = append(ids, e.insertOne(t, ch))
	s.waitCount(t, 4, 20*time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []string
	for _, m := range s.msgs[ch] {
		got = append(got, m.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("channel %s received ids %v, want %v exactly once in order", ch, got, ids)
	}
}
