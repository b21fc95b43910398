package postgres

import (
	"testing"
	"time"
)

// TestLeadingDebounceActsAtOnce: with a poll interval and safety poll far
// longer than the wait, an insert is still delivered: the first
// notification claims at once (a trailing debounce would wait a minute).
func TestLeadingDebounceActsAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "lead")
	opts := e.options()
	opts.PollInterval = time.Minute
	opts.SafetyPoll = time.Minute
	n := startNode(t, opts)
	// The insert must come after the LISTEN (and the claim the node makes
	// right after it), so only a notification can deliver it.
	waitFor(t, 10*time.Second, "LISTEN executed", func() bool {
		return e.count(t, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%' AND state = 'idle'`,
			"livesync-dev listen "+n.ID()) == 1
	})
	waitFor(t, 10*time.Second, "node idle", func() bool {
		return e.count(t, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`,
			"livesync-dev connector "+n.ID()) == 0
	})
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'lead', 'n', '1')`)
	s.waitCount(t, 1, 20*time.Second)
}

// TestTrailingDebounceDelivers: the trailing mode claims one poll interval
// after the first notification.
func TestTrailingDebounceDelivers(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "trail")
	opts := e.options()
	opts.Debounce = DebounceTrailing
	opts.SafetyPoll = time.Minute
	startNode(t, opts)
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'trail', 'n', '1'), ('b', 'trail', 'n', '2')`)
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('c', 'trail', 'n', '3')`)
	s.waitCount(t, 3, 20*time.Second)
	s.checkOrder(t)
}

// TestBusyOutboxIsNotDebounced: within one long debounce window, rows that
// keep arriving after the first are claimed at once while claims keep
// finding rows, instead of waiting for the window to end (which at a
// steady insert rate delayed every row by up to PollInterval).
func TestBusyOutboxIsNotDebounced(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "busy")
	opts := e.options()
	opts.PollInterval = 40 * time.Second
	opts.LockTTL = 80 * time.Second
	opts.SafetyPoll = 20 * time.Second
	opts.RetryMax = 10 * time.Second
	n := startNode(t, opts)
	// the debounce is the subject, not how long a loaded machine takes to
	// open the node's realtime connections
	waitFor(t, 20*time.Second, "Ably connected", func() bool { return n.State().Ably.State == "connected" })
	for i := 1; i <= 5; i++ {
		e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m', 'busy', 'n', '1')`)
		// Each row must arrive long before the 40s window (or the 20s
		// safety poll) could have delivered it.
		s.waitCount(t, i, 10*time.Second)
	}
	s.checkOrder(t)
}
