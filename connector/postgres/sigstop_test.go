package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// sigstopFor is how long TestSIGSTOPedNodeProcess keeps a node stopped:
// well past its lease (0.9s), its row locks (1.5s) and its open
// transaction's idle timeout (2s); LIVESYNC_SIGSTOP_SECONDS overrides it.
func sigstopFor() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("LIVESYNC_SIGSTOP_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 60 * time.Second
}

// deliveryStats counts what the subscriber got against ids 1..sent.
func (s *sub) deliveryStats(sent int64) (received, distinct, dups, outOfOrder, missing int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[int64]bool{}
	for _, ms := range s.msgs {
		var prev int64
		for _, m := range ms {
			id, _ := strconv.ParseInt(m.ID, 10, 64)
			received++
			if seen[id] {
				dups++
			} else if id < prev {
				outOfOrder++
			}
			seen[id] = true
			prev = max(prev, id)
		}
	}
	for id := int64(1); id <= sent; id++ {
		if !seen[id] {
			missing++
		}
	}
	return received, len(seen), dups, outOfOrder, missing
}

// TestSIGSTOPedNodeProcess: two connector node processes share 8 channels
// while rows flow; one is SIGSTOPped for 60s (the other takes over its
// channels once its lease and locks lapse and its stalled transaction is
// ended by idle_in_transaction_session_timeout), then SIGCONTed (it finds
// its lease gone, its locks taken and its unacknowledged publishes past
// their deadline). Every row arrives exactly once, in order per channel.
func TestSIGSTOPedNodeProcess(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("runs for over a minute")
	}
	e := newEnv(t)
	chans := channelNames("sig", 8)
	s := e.subscribe(t, chans...)
	a, _ := startChild(t, e)
	waitFor(t, 30*time.Second, "the first child node registered", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes") == 1
	})
	var aID string
	if err := e.admin.QueryRow(context.Background(), "SELECT id FROM nodes").Scan(&aID); err != nil {
		t.Fatal(err)
	}
	startChild(t, e)
	waitFor(t, 30*time.Second, "two child nodes registered", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes") == 2
	})
	var sent atomic.Int64
	insert := func(rows int) {
		e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data)
SELECT 'm', 'sig' || (g % 8), 'ev', to_jsonb(g) FROM generate_series(1, $1) g`, rows)
		sent.Add(int64(rows))
	}
	inserter := e.db.Admin(t) // its own connection: e.admin is used meanwhile
	stopInserts := make(chan struct{})
	inserted := make(chan struct{})
	go func() { // 40 rows/s across the 8 channels
		defer close(inserted)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopInserts:
				return
			case <-tick.C:
				if _, err := inserter.Exec(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data)
SELECT 'm', 'sig' || (g % 8), 'ev', to_jsonb(g) FROM generate_series(1, 4) g`); err != nil {
					t.Errorf("insert: %v", err)
					return
				}
				sent.Add(4)
			}
		}
	}()
	s.waitCount(t, 40, 20*time.Second)
	waitFor(t, 20*time.Second, "the first node holding rows", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE locked_by = $1", aID) > 0
	})
	if err := a.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	heldAtStop := e.count(t, "SELECT count(*) FROM outbox WHERE locked_by = $1 AND NOT processed", aID)
	waitFor(t, 30*time.Second, "the stopped node reaped", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes") == 1
	})
	pause := sigstopFor()
	time.Sleep(time.Until(stopped.Add(pause - 5*time.Second))) // rows flow throughout the stop
	close(stopInserts)
	<-inserted
	total := sent.Load()
	s.waitCount(t, int(total), 30*time.Second) // all delivered while one node is still stopped
	time.Sleep(time.Until(stopped.Add(pause)))
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	woke := time.Now()
	waitFor(t, 30*time.Second, "the woken node registered again", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes") == 2
	})
	insert(16) // both nodes publish again
	s.waitCount(t, int(sent.Load()), 30*time.Second)
	waitFor(t, 30*time.Second, "outbox drained", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed") == 0
	})
	received, distinct, dups, ooo, missing := s.deliveryStats(sent.Load())
	t.Logf("SIGSTOP %s (rows it had locked: %d); rows sent %d, received %d, distinct %d, duplicates %d, out of order %d, missing %d; resumed %.1fs after SIGCONT",
		pause, heldAtStop, sent.Load(), received, distinct, dups, ooo, missing, time.Since(woke).Seconds())
	if dups != 0 || ooo != 0 || missing != 0 || int64(received) != sent.Load() {
		t.Fatalf("delivery not exactly once in order: %s", fmt.Sprint(received, distinct, dups, ooo, missing))
	}
	s.checkOrder(t)
}
