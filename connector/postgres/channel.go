package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// chanState is a node's view of one channel; guarded by Node.mu.
type chanState struct {
	name      string
	queue     []*heldRow     // claimed, not yet acknowledged, in publish order
	ids       map[int64]bool // every row held: queued or awaiting completion
	running   bool           // a worker goroutine owns the queue
	blocked   bool           // stopped on a permanent error at blockRow
	blockRow  int64
	blockedAs connector.Row        // blockRow's content when it failed
	blockXmin uint32               // blockRow's version after the node released it (0: not known yet)
	attempts  int                  // attempts on the current head row
	inFlight  bool                 // a publish of the head awaits its ACK
	lastError *connector.ErrorInfo // last failure; cleared by the next ACK
	nextRetry time.Time            // when the head is tried again (zero: not waiting)
	prefetch  []*fencePrefetch     // lock checks of queue[1..FenceAhead], in queue order; worker-owned
}

// heldRow is a claimed row with its fencing deadline.
type heldRow struct {
	row       connector.Row
	confirmed time.Time // local time just before the lock was last set
	deadline  time.Time // never send after this: confirmed + lockTTL − margin
}

// ackedRow is a published row awaiting completion.
type ackedRow struct {
	id      int64
	channel string
}

var errAckTimeout = errors.New("no ACK before the row's lock deadline")

func randInt63n(n int64) int64 { return rand.Int64N(max(n, 1)) }

// dispatch hands claimed rows to their channels' workers. A claim computes
// each channel's prefix from the rows the node held when the claim began
// (dropSeq); if the node has since dropped rows of a channel (lost locks)
// or blocked it, the claimed rows no longer continue a prefix it holds:
// they are returned for release instead of queued.
func (n *Node) dispatch(res OutboxClaimResult, dropSeq uint64) (release []int64) {
	deadline := res.Started.Add(n.opts.LockTTL - n.opts.fenceMargin())
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range res.Rows {
		if n.lastDrop[r.Channel] > dropSeq {
			release = append(release, r.SequenceID)
			continue
		}
		cs := n.channels[r.Channel]
		if cs == nil {
			cs = &chanState{name: r.Channel, ids: map[int64]bool{}}
			n.channels[r.Channel] = cs
		}
		if cs.ids[r.SequenceID] { // re-locked a row we hold: refresh its deadline
			for _, q := range cs.queue {
				if q.row.SequenceID == r.SequenceID {
					q.confirmed, q.deadline = res.Started, deadline
				}
			}
			continue
		}
		cs.ids[r.SequenceID] = true
		n.held++
		cs.queue = append(cs.queue, &heldRow{row: r.Row, confirmed: res.Started, deadline: deadline})
	}
	if n.runCtx.Err() != nil {
		// Stopping: Stop may already be waiting for the workers, so none
		// is added (a worker would exit at once anyway); Stop releases the
		// queued rows.
		return release
	}
	for _, cs := range n.channels {
		if !cs.running && !cs.blocked && len(cs.queue) > 0 {
			cs.running = true
			n.workers.Add(1)
			go n.worker(cs)
		}
	}
	return release
}

// droppedLocked records that channel lost rows from memory; callers hold n.mu.
func (n *Node) droppedLocked(channel string) {
	n.dropSeq++
	n.lastDrop[channel] = n.dropSeq
}

// worker publishes one channel's queue strictly in order, one
// unacknowledged message at a time.
func (n *Node) worker(cs *chanState) {
	defer n.workers.Done()
	for {
		n.mu.Lock()
		if n.runCtx.Err() != nil || len(cs.queue) == 0 || cs.blocked {
			cs.running = false
			n.mu.Unlock()
			return
		}
		h := cs.queue[0]
		now := time.Now()
		needExtend := !n.opts.LazyFence || cs.attempts > 0 || now.Sub(h.confirmed) > n.opts.LockTTL/3 || !now.Before(h.deadline)
		ids := queueIDs(cs)
		if !n.opts.LazyFence && cs.attempts == 0 && now.Before(h.deadline) {
			// Per-attempt fencing needs only the row about to be sent: while
			// its lock is live no other node may take any row of the channel.
			ids = ids[:1]
		}
		attempt := cs.attempts + 1
		n.mu.Unlock()

		if pre := n.takePrefetch(cs, h, attempt); pre != nil {
			// Fenced while earlier rows awaited their ACKs.
			var r fenceReply
			select {
			case r = <-pre.reply:
			default:
				n.hurryFence()
				select {
				case r = <-pre.reply:
				case <-n.runCtx.Done(): // the fencer has stopped
					r = fenceReply{err: n.runCtx.Err()}
				}
			}
			if !n.fenced(cs, pre.ids, pre.start, r.got, r.err) {
				cs.prefetch = nil
				continue
			}
		} else if needExtend && !n.fence(cs, ids) {
			continue
		}
		n.mu.Lock()
		deadline := h.deadline
		cs.inFlight = true
		if !n.opts.LazyFence {
			// Fence the next rows now, overlapping their round trips with
			// this row's ACK; each attempt still waits for its own check.
			n.topUpPrefetch(cs)
		}
		n.mu.Unlock()
		n.jr.step(h.row.SequenceID, kSend, attempt, 0)
		err := n.publish(cs.name, h.row, deadline)
		n.jr.published(h.row.SequenceID, attempt, err)
		n.mu.Lock()
		cs.inFlight = false
		n.mu.Unlock()
		if n.killCtx.Err() != nil {
			n.mu.Lock()
			cs.running = false
			n.mu.Unlock()
			return
		}
		if err == nil {
			n.mu.Lock()
			cs.queue = cs.queue[1:]
			recovered := cs.attempts > 0
			cs.attempts = 0
			cs.lastError = nil // a later success clears the last failure
			n.acked = append(n.acked, ackedRow{id: h.row.SequenceID, channel: cs.name})
			full := len(n.acked) >= n.opts.BatchSize
			n.mu.Unlock()
			if full {
				n.flushNow()
			}
			if recovered {
				n.kick() // claims excluded the channel while it retried
			}
			continue
		}
		n.failed(cs, h, attempt, err)
	}
}

// fence extends the channel's locks before a publish attempt. It reports
// false when the worker must re-evaluate (rows dropped or a database error).
func (n *Node) fence(cs *chanState, ids []int64) bool {
	start := time.Now()
	got, err := n.confirm(n.runCtx, ids)
	return n.fenced(cs, ids, start, got, err)
}

// fenced applies the result of confirming ids (requested at start): each
// row's deadline is start plus its remaining lock time less the margin.
func (n *Node) fenced(cs *chanState, ids []int64, start time.Time, got map[int64]time.Duration, err error) bool {
	if err != nil {
		if n.runCtx.Err() == nil {
			n.dbError("extend locks", err)
			n.mu.Lock()
			cs.attempts++
			a := cs.attempts
			n.mu.Unlock()
			connector.Sleep(n.runCtx, backoff(n.opts.RetryMin, n.opts.RetryMax, a))
		}
		return false
	}
	n.jr.fenced(ids, func(id int64) bool { _, ok := got[id]; return ok }, kFence, time.Now())
	sent := make(map[int64]bool, len(ids))
	for _, id := range ids {
		sent[id] = true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, q := range cs.queue {
		if !sent[q.row.SequenceID] {
			continue // claimed after the extension was sent: its claim set its deadline
		}
		left, ok := got[q.row.SequenceID]
		if !ok {
			// Lost from here on: another node took over, or the row was
			// deleted. Later rows must not overtake it, so drop them all.
			lost := cs.queue[i:]
			cs.queue = cs.queue[:i]
			n.droppedLocked(cs.name)
			for _, l := range lost {
				delete(cs.ids, l.row.SequenceID)
				n.held--
			}
			n.log.Warn("lost row locks; another node may take over the channel", "channel", cs.name, "from", lost[0].row.SequenceID, "rows", len(lost))
			n.emit(connector.Event{Kind: connector.EventLeaseLost, Channel: cs.name, SequenceID: lost[0].row.SequenceID,
				Rows: len(lost), Message: "row locks could not be extended"})
			cs.attempts = 0
			return i > 0
		}
		q.confirmed, q.deadline = start, start.Add(left-n.opts.fenceMargin())
	}
	return true
}

// publish sends one row and waits for its ACK, at most until its lock
// deadline.
func (n *Node) publish(channel string, row connector.Row, deadline time.Time) error {
	msg, warnings := connector.Message(row)
	for _, w := range warnings {
		n.log.Warn(w, "channel", channel)
	}
	ack := make(chan error, 1)
	n.m.pendingAcks.Inc()
	defer n.m.pendingAcks.Dec()
	start := time.Now()
	n.pub.Publish(n.killCtx, channel, msg, func(err error) { ack <- err })
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	var err error
	select {
	case err = <-ack:
	case <-t.C:
		err = errAckTimeout
		// The row's lock may lapse now and another node take it: drop the
		// connection so ably-go cannot send this message again later.
		n.log.Warn("no ACK before the row's lock deadline; dropping the realtime connection and its unacknowledged messages",
			"channel", channel, "row", row.SequenceID)
		n.pub.Reset(start)
	case <-n.killCtx.Done():
		return n.killCtx.Err()
	}
	if err == nil {
		lat := time.Since(start)
		n.m.latency.Observe(lat.Seconds())
		n.emit(connector.Event{Kind: connector.EventPublished, Channel: channel, SequenceID: row.SequenceID, Latency: lat})
	}
	return err
}

// failed handles a failed attempt: permanent codes block the channel and
// release its rows; anything else is retried after a backoff.
func (n *Node) failed(cs *chanState, h *heldRow, attempt int, err error) {
	code := connector.ErrorCode(err)
	id := h.row.SequenceID
	now := time.Now()
	wait := backoff(n.opts.RetryMin, n.opts.RetryMax, attempt)
	retryable := !n.opts.permanent(code)
	n.mu.Lock()
	cs.attempts = attempt
	cs.lastError = connector.NewErrorInfo(err, now)
	if retryable {
		cs.nextRetry = now.Add(wait)
	}
	n.mu.Unlock()
	n.emit(connector.Event{Kind: connector.EventFailed, Channel: cs.name, SequenceID: id, Attempt: attempt, Code: code, Message: err.Error()})
	if retryable {
		n.log.Warn("publish failed; will retry", "channel", cs.name, "row", id, "attempt", attempt, "code", code, "err", err)
		n.retryWait(wait, cs.name, code)
		n.mu.Lock()
		cs.nextRetry = time.Time{}
		n.mu.Unlock()
		return
	}
	n.jr.step(id, kBlocked, attempt, code)
	n.mu.Lock()
	cs.blocked, cs.blockRow, cs.blockedAs, cs.blockXmin = true, id, h.row, 0
	n.droppedLocked(cs.name)
	ids := queueIDs(cs)
	for _, q := range cs.queue {
		delete(cs.ids, q.row.SequenceID)
		n.held--
	}
	cs.queue = nil
	n.mu.Unlock()
	n.jr.many(ids, kReleased)
	msg := fmt.Sprintf("channel %s blocked at row %d: Ably error %d: %v (a permanent error: delete the row, or fix it and run `outbox retry %d`; the channel resumes within seconds)", cs.name, id, code, err, id)
	n.log.Error(msg)
	n.emit(connector.Event{Kind: connector.EventBlocked, Channel: cs.name, SequenceID: id, Code: code, Message: err.Error()})
	ctx, cancel := context.WithTimeout(n.killCtx, 10*time.Second)
	defer cancel()
	released, relErr := n.store.OutboxRelease(ctx, OutboxReleaseParams{Node: n.id, IDs: ids})
	if relErr != nil {
		n.dbError("release blocked rows", relErr) // their locks lapse at lock_expiry instead
	}
	// The released row's version is the baseline: a later write of it
	// (`outbox retry`) unblocks. Taken from the release itself, so a retry
	// landing right after the release is not mistaken for the baseline;
	// a row the release did not find locked by this node was written by
	// someone else meanwhile (a retry that came first): that counts too.
	n.mu.Lock()
	if relErr == nil && cs.blocked && cs.blockRow == id && cs.blockXmin == 0 {
		if x, ok := released[id]; ok {
			cs.blockXmin = x
		} else {
			cs.blockXmin = writtenByOthers
		}
	}
	n.mu.Unlock()
	n.checkBlocked(ctx) // without a release (it failed), this first look is the baseline
}

// writtenByOthers as chanState.blockXmin: the blocking row was written by
// someone else after the node locked it, so whatever version it has now is
// a change. (1 is Postgres' bootstrap transaction id, never a user row's
// xmin.)
const writtenByOthers uint32 = 1

func queueIDs(cs *chanState) []int64 {
	ids := make([]int64, len(cs.queue))
	for i, q := range cs.queue {
		ids[i] = q.row.SequenceID
	}
	return ids
}

// heldLocked lists every row held; callers hold n.mu.
func (n *Node) heldLocked() []int64 {
	out := make([]int64, 0, n.held)
	for _, cs := range n.channels {
		for id := range cs.ids {
			out = append(out, id)
		}
	}
	return out
}

// unsentIDs lists rows claimed but not published (released on Stop).
func (n *Node) unsentIDs() []int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []int64
	for _, cs := range n.channels {
		out = append(out, queueIDs(cs)...)
	}
	return out
}

// fencePrefetch is a lock extension requested ahead of a row's attempt.
type fencePrefetch struct {
	row   *heldRow
	ids   []int64
	start time.Time
	reply chan fenceReply
}

// prefetchFence starts extending h's lock in the background: the request
// goes straight to the fencer, whose answer lands in the prefetch's reply
// (no goroutine per row unless the fencer's queue is full).
func (n *Node) prefetchFence(h *heldRow) *fencePrefetch {
	p := &fencePrefetch{row: h, ids: []int64{h.row.SequenceID}, start: time.Now(), reply: make(chan fenceReply, 1)}
	req := fenceRequest{ids: p.ids, reply: p.reply, ahead: true}
	select {
	case n.fenceReqs <- req:
	default:
		go func() {
			select {
			case n.fenceReqs <- req:
			case <-n.runCtx.Done():
				p.reply <- fenceReply{err: n.runCtx.Err()}
			}
		}()
	}
	return p
}

// takePrefetch returns the check requested ahead for h's first attempt, or
// nil (the caller fences now); checks for other rows are stale and dropped.
func (n *Node) takePrefetch(cs *chanState, h *heldRow, attempt int) *fencePrefetch {
	if len(cs.prefetch) == 0 || cs.prefetch[0].row != h || attempt != 1 {
		cs.prefetch = nil
		return nil
	}
	pre := cs.prefetch[0]
	cs.prefetch = cs.prefetch[1:]
	return pre
}

// topUpPrefetch requests checks for queue[1..FenceAhead] that have none,
// keeping cs.prefetch aligned with the queue. n.mu is held.
func (n *Node) topUpPrefetch(cs *chanState) {
	k := 0
	for k < len(cs.prefetch) && k+1 < len(cs.queue) && cs.prefetch[k].row == cs.queue[k+1] {
		k++
	}
	cs.prefetch = cs.prefetch[:k] // rows since dropped or reordered: requests again
	for i := k + 1; i <= n.opts.FenceAhead && i < len(cs.queue); i++ {
		cs.prefetch = append(cs.prefetch, n.prefetchFence(cs.queue[i]))
	}
}

// retryWait sleeps a retry backoff; while the connection the channel
// publishes on is down it ends as soon as that connection is back, so rows
// flow again at once after an endpoint outage instead of after a backoff
// that grew during it. A publish ably-go refused locally (90001: the
// channel's connection was not up yet, as when another connection's return
// woke the row) is retried at once if the channel can send by now.
func (n *Node) retryWait(wait time.Duration, channel string, code int) {
	sendable := n.pub.ChannelSendable(channel)
	if sendable && code == codeChannelState {
		return
	}
	ctx, cancel := context.WithTimeout(n.runCtx, wait)
	defer cancel()
	if !sendable {
		_ = n.pub.AwaitChannelSendable(ctx, channel) // back, or the backoff ended
		return
	}
	<-ctx.Done()
}

// codeChannelState is ably-go's "channel operation failed (invalid channel
// state)": a publish refused locally, never sent.
const codeChannelState = 90001
