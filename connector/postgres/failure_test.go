package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// TestEndpointDownThenUp: with the endpoint stopped rows wait (failures are
// retried, nothing is lost); when it is back on the same address they flow.
func TestEndpointDownThenUp(t *testing.T) {
	e := newEnv(t)
	addr := e.ably.Addr()
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	n := startNode(t, e.options())
	e.ably.Close()
	e.insertSpread(t, "d", 30, 3)
	waitEvent(t, events, 20*time.Second, "a failed publish while the endpoint is down", func(ev connector.Event) bool {
		return ev.Kind == connector.EventFailed
	})
	if got := e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed"); got != 30 {
		t.Fatalf("%d rows pending while the endpoint is down, want 30", got)
	}
	e.startAbly(t, addr)
	s := e.subscribe(t, channelNames("d", 3)...)
	// Rows published before the subscriber attached are in history; count
	// completions in the database instead, then check the live stream with
	// more rows.
	waitFor(t, 30*time.Second, "backlog drained after the endpoint returned", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed") == 0
	})
	e.insertSpread(t, "d", 30, 3)
	s.waitCount(t, 30, 20*time.Second)
	s.checkOrder(t)
	if h := n.Health(); h["ably"].Status != "up" && h["postgres"].Status != "up" {
		t.Errorf("health after recovery: %v", h)
	}
}

// TestPostgresRestartMidStream: the database goes away and comes back; the
// node reconnects (pool and LISTEN) and every row arrives once, in order.
func TestPostgresRestartMidStream(t *testing.T) {
	srv := pgtest.StartCluster(t)
	db := pgtest.NewDBOn(t, srv, pgtest.TemplateDB)
	e := newEnvOn(t, db)
	chans := channelNames("p", 10)
	s := e.subscribe(t, chans...)
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	startNode(t, e.options())
	e.insertSpread(t, "p", 200, 10)
	s.waitCount(t, 50, 30*time.Second)
	ctx := context.Background()
	if err := srv.Halt(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, 20*time.Second, "LISTEN connection lost", func(ev connector.Event) bool {
		return ev.Kind == connector.EventInfo && strings.HasPrefix(ev.Message, "LISTEN connection lost")
	})
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	e.admin = db.Admin(t) // the old admin connection died with the server
	waitEvent(t, events, 30*time.Second, "LISTEN re-established", func(ev connector.Event) bool {
		return ev.Kind == connector.EventInfo && ev.Message == "LISTEN re-established"
	})
	e.insertSpread(t, "p", 200, 10)
	s.waitCount(t, 400, 60*time.Second)
	if ids := s.checkOrder(t); len(ids) != 400 {
		t.Fatalf("received %d distinct ids, want 400", len(ids))
	}
}

// TestListenerTerminated: pg_terminate_backend on the LISTEN connection;
// the next insert still flows by notification (the safety poll is far
// longer than the wait).
func TestListenerTerminated(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "l")
	events, unsub := e.bus.Subscribe(1000)
	defer unsub()
	opts := e.options()
	opts.SafetyPoll = 60 * time.Second
	n := startNode(t, opts)
	waitFor(t, 10*time.Second, "listener connected", func() bool {
		return e.count(t, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", "livesync-dev listen "+n.ID()) == 1
	})
	if got := e.count(t, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) s", "livesync-dev listen "+n.ID()); got != 1 {
		t.Fatalf("terminated %d listener backends", got)
	}
	waitEvent(t, events, 20*time.Second, "LISTEN re-established", func(ev connector.Event) bool {
		return ev.Kind == connector.EventInfo && ev.Message == "LISTEN re-established"
	})
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('x', 'l', 'after', '1')`)
	s.waitCount(t, 1, 20*time.Second)
}

// TestFixedRateWithoutTrigger: with the trigger dropped nothing notifies,
// and fixed-rate polling still delivers.
func TestFixedRateWithoutTrigger(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `DROP TRIGGER public_outbox_trigger ON outbox`)
	s := e.subscribe(t, "f")
	opts := e.options()
	opts.PollFixedRate = true
	opts.SafetyPoll = 60 * time.Second
	startNode(t, opts)
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'f', 'n', '1'), ('b', 'f', 'n', '2')`)
	s.waitCount(t, 2, 20*time.Second)
	s.checkOrder(t)
}

// TestLargeRowBlocksOnlyItsChannel: a 70 KiB row fails with 40009, blocks
// its channel (later rows wait) while other channels flow; deleting the row
// unblocks the channel.
func TestLargeRowBlocksOnlyItsChannel(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "big", "small")
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('ok', 'big', 'n', '1')`)
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('huge', 'big', 'n', to_jsonb(repeat('x', 70*1024)))`)
	var bigID int64
	if err := e.admin.QueryRow(context.Background(), `SELECT max(sequence_id) FROM outbox`).Scan(&bigID); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('after', 'big', 'n', '3'), ('s1', 'small', 'n', '4'), ('s2', 'small', 'n', '5')`)
	n := startNode(t, e.options())
	ev := waitEvent(t, events, 20*time.Second, "channel blocked", func(ev connector.Event) bool { return ev.Kind == connector.EventBlocked })
	if ev.Code != 40009 || ev.SequenceID != bigID || ev.Channel != "big" {
		t.Fatalf("blocked event %+v, want code 40009 row %d channel big", ev, bigID)
	}
	s.waitCount(t, 3, 20*time.Second) // ok + s1 + s2
	var st connector.ChannelState
	for _, c := range n.State().Channels {
		if c.Channel == "big" {
			st = c
		}
	}
	if !st.Blocked || st.BlockedRow != bigID || st.LastError == nil || st.LastError.Code != 40009 {
		t.Errorf("debug state of big: %+v", st)
	}
	s.mu.Lock()
	big := len(s.msgs["big"])
	s.mu.Unlock()
	if big != 1 {
		t.Fatalf("channel big delivered %d messages, want only the row before the blocker", big)
	}
	waitFor(t, 10*time.Second, "only the blocker and the row after it pending on big", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE channel = 'big' AND NOT processed") == 2
	})
	e.exec(t, `DELETE FROM outbox WHERE sequence_id = $1`, bigID)
	waitEvent(t, events, 20*time.Second, "channel unblocked", func(ev connector.Event) bool {
		return ev.Kind == connector.EventUnblocked && ev.Channel == "big"
	})
	s.waitCount(t, 4, 20*time.Second)
	s.checkOrder(t)
}

// TestFenceNeverSendsAStolenRow: while the endpoint is down the node keeps
// retrying a channel's head row; someone takes the channel's locks away
// (as `outbox retry --force` plus another node would). When the endpoint
// returns, the node's fence fails and it sends none of those rows; once the
// intruder lets go, they are claimed again and arrive exactly once.
func TestFenceNeverSendsAStolenRow(t *testing.T) {
	e := newEnv(t)
	addr := e.ably.Addr()
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	opts := e.options()
	opts.RetryMin, opts.RetryMax = 100*time.Millisecond, 300*time.Millisecond
	startNode(t, opts)
	e.ably.Close()
	e.insertSpread(t, "fence", 5, 1)
	waitEvent(t, events, 20*time.Second, "a failed publish while the endpoint is down", func(ev connector.Event) bool {
		return ev.Kind == connector.EventFailed
	})
	e.exec(t, `UPDATE outbox SET locked_by = 'intruder', lock_expiry = (now() AT TIME ZONE 'utc') + interval '1 hour' WHERE NOT processed`)
	e.startAbly(t, addr)
	s := e.subscribe(t, channelNames("fence", 1)...)
	published := publishedUntilLeaseLost(t, events)
	if published != 0 || s.total() != 0 {
		t.Fatalf("stolen rows were published: %d publish events, %d received", published, s.total())
	}
	releaseIntruder(t, e, s, 5)
}

// TestFenceAheadOffNoticesAClearedLock: with connector.fenceAhead 0 no row's
// check is asked for early, so locks taken away by hand while the head row
// awaits its (delayed) ACK are noticed before the next attempt: none of the
// taken rows is sent, and they arrive, in order, once they are free again.
func TestFenceAheadOffNoticesAClearedLock(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ably.AddFault(fault.Rule{Channel: "ahead0", DelayAck: fault.Duration(500 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	s := e.subscribe(t, "ahead0")
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	opts := e.options()
	opts.FenceAhead = -1
	startNode(t, opts)
	e.insertSpread(t, "ahead", 5, 1)
	// The head row reached the subscriber and its ACK is held for 500 ms
	// (with early checks, those of the next rows were asked for as it was
	// sent): take the other four away as `outbox retry --force` plus another
	// node would.
	s.waitCount(t, 1, 20*time.Second)
	e.exec(t, `UPDATE outbox SET locked_by = 'intruder', lock_expiry = (now() AT TIME ZONE 'utc') + interval '1 hour'
WHERE sequence_id > (SELECT min(sequence_id) FROM outbox)`)
	published := publishedUntilLeaseLost(t, events)
	if published != 1 || s.total() != 1 {
		t.Fatalf("taken rows were published: %d publish events, %d received, want 1 (the head)", published, s.total())
	}
	e.ably.ClearFaults("")
	releaseIntruder(t, e, s, 5)
}

// publishedUntilLeaseLost counts publish events until the node reports it
// lost row locks.
func publishedUntilLeaseLost(t *testing.T, events <-chan connector.Event) int {
	t.Helper()
	published := 0
	waitEvent(t, events, 20*time.Second, "the node noticing it lost the locks", func(ev connector.Event) bool {
		if ev.Kind == connector.EventPublished {
			published++
		}
		return ev.Kind == connector.EventLeaseLost
	})
	return published
}

// releaseIntruder frees the rows an intruder locked and expects all rows
// to arrive, in order, exactly once.
func releaseIntruder(t *testing.T, e *env, s *sub, rows int) {
	t.Helper()
	e.exec(t, `UPDATE outbox SET locked_by = NULL, lock_expiry = NULL WHERE locked_by = 'intruder'`)
	s.waitCount(t, rows, 30*time.Second)
	if ids := s.checkOrder(t); len(ids) != rows {
		t.Fatalf("received %d distinct rows, want %d", len(ids), rows)
	}
}
