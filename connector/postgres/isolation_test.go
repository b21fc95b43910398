package postgres

import (
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestRetryingChannelDoesNotStallOthers: a channel whose head keeps failing
// with a retryable error (a 70 KiB row, with 40009 configured as retryable)
// has 5 × batchSize rows behind it; the node claims at most batchSize of
// them and keeps claiming other channels, whose rows all arrive while the
// failing head is still being retried.
func TestRetryingChannelDoesNotStallOthers(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "cool0", "cool1")
	events, unsub := e.bus.Subscribe(100000)
	defer unsub()
	opts := e.options()
	opts.BatchSize = 10
	opts.PermanentCodes = []int{40010, 40160} // 40009 is retried here
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('huge', 'hot', 'n', to_jsonb(repeat('x', 70*1024)))`)
	e.insertSpread(t, "hot", 5*opts.BatchSize, 1) // channel hot0
	e.exec(t, `UPDATE outbox SET channel = 'hot' WHERE channel = 'hot0'`)
	e.insertSpread(t, "cool", 3*opts.BatchSize, 2)
	n := startNode(t, opts)
	s.waitCount(t, 3*opts.BatchSize, 30*time.Second)
	s.checkOrder(t)
	retried := 0
	for done := false; !done; {
		select {
		case ev := <-events:
			if ev.Kind == connector.EventFailed && ev.Channel == "hot" && ev.Code == 40009 {
				retried++
			}
			if ev.Kind == connector.EventPublished && ev.Channel == "hot" {
				t.Fatalf("hot published row %d past its failing head", ev.SequenceID)
			}
		default:
			done = true
		}
	}
	if retried < 2 {
		t.Errorf("hot's head failed %d times, want it still being retried", retried)
	}
	st := n.State()
	hot := channelOf(st, "hot")
	if hot == nil || hot.Attempts < 1 || hot.Queued > opts.BatchSize || hot.LastError == nil || hot.LastError.Code != 40009 {
		t.Fatalf("hot state %+v", hot)
	}
	if got := e.count(t, "SELECT count(*) FROM outbox WHERE channel = 'hot' AND locked_by IS NOT NULL"); got > int64(opts.BatchSize) {
		t.Errorf("%d rows of hot locked, want at most batchSize %d", got, opts.BatchSize)
	}
}
