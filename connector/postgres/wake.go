package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/schema"
)

// wakeLoop decides when to claim. Fixed-rate mode: every PollInterval.
// LISTEN mode: on notifications (debounced) and every SafetyPoll, so
// lapsed locks and missed notifications are picked up without new inserts.
func (n *Node) wakeLoop() {
	period := n.opts.SafetyPoll
	if n.opts.PollFixedRate {
		period = n.opts.PollInterval
	} else {
		notes := make(chan struct{}, 1)
		n.loop(func() { n.listen(notes) })
		n.loop(func() { n.debounce(notes) })
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-n.runCtx.Done():
			return
		case <-t.C:
			n.kick()
		}
	}
}

// debounce turns notifications into claims. Leading: the first
// notification claims at once; later ones within PollInterval of that claim
// are coalesced into one claim at the end of the window — unless a claim
// found rows within the last PollInterval: a busy outbox is drained continuously (a notification
// then claims as soon as the running claim ends), otherwise every row
// inserted at a steady rate would wait up to PollInterval (p50 ~400 ms at
// 1,000 rows/s with the 1s default). Trailing: claim PollInterval after the
// first notification.
func (n *Node) debounce(notes <-chan struct{}) {
	var last time.Time
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-n.runCtx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-notes:
			if n.opts.Debounce == DebounceLeading && n.busy() {
				// Rows are flowing: claim as soon as the running claim ends.
				if timer != nil {
					timer.Stop()
					fire, timer = nil, nil
				}
				last = time.Now()
				n.kick()
				continue
			}
			if fire != nil {
				continue // already scheduled: coalesce
			}
			wait := n.opts.PollInterval
			if n.opts.Debounce == DebounceLeading {
				wait = n.opts.PollInterval - time.Since(last)
			}
			if wait <= 0 {
				last = time.Now()
				n.kick()
				continue
			}
			timer = time.NewTimer(wait)
			fire = timer.C
		case <-fire:
			fire, timer = nil, nil
			last = time.Now()
			n.kick()
		}
	}
}

// listen holds the node's one LISTEN connection, re-establishing it (and
// claiming once, for rows inserted meanwhile) after any failure.
func (n *Node) listen(notes chan<- struct{}) {
	attempt := 0
	for n.runCtx.Err() == nil {
		err := n.listenOnce(notes, &attempt)
		if n.runCtx.Err() != nil {
			return
		}
		attempt++
		n.log.Warn("LISTEN connection lost; reconnecting", "err", err, "attempt", attempt)
		n.emit(connector.Event{Kind: connector.EventInfo, Message: "LISTEN connection lost: " + err.Error()})
		if !connector.Sleep(n.runCtx, backoff(n.opts.RetryMin, min(n.opts.RetryMax, n.opts.SafetyPoll), attempt)) {
			return
		}
	}
}

func (n *Node) listenOnce(notes chan<- struct{}, attempt *int) error {
	conn, err := dbconn.Connect(n.runCtx, n.opts.DatabaseURL, "livesync-dev listen "+n.id)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(ctx)
	}()
	if _, err := conn.Exec(n.runCtx, "LISTEN "+pgx.Identifier{schema.NotifyChannel}.Sanitize()); err != nil {
		return err
	}
	if *attempt > 0 {
		n.log.Info("LISTEN re-established")
		n.emit(connector.Event{Kind: connector.EventInfo, Message: "LISTEN re-established"})
	}
	*attempt = 0
	n.kick() // rows may have arrived while not listening
	for {
		if _, err := conn.WaitForNotification(n.runCtx); err != nil {
			return err
		}
		n.m.notifications.Inc()
		now := time.Now().UnixNano()
		n.lastNote.Store(now)
		n.jr.notified(now)
		select {
		case notes <- struct{}{}:
		default:
		}
	}
}
