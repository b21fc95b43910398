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
