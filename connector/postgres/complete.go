package postgres

import (
	"context"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// flushNow asks the completer to complete acknowledged rows now.
func (n *Node) flushNow() {
	select {
	case n.flush <- struct{}{}:
	default:
	}
}

// completeLoop completes acknowledged rows in batches: when BatchSize are
// waiting, and at least every CompletionFlush. It runs until the node is
// killed, so rows acknowledged during a graceful stop are completed too.
func (n *Node) completeLoop() {
	t := time.NewTicker(n.opts.CompletionFlush)
	defer t.Stop()
	attempt := 0
	for {
		select {
		case <-n.killCtx.Done():
			return
		case <-t.C:
		case <-n.flush:
		}
		if err := n.completeOnce(n.killCtx); err != nil {
			if n.killCtx.Err() != nil {
				return
			}
			n.dbError("complete", err)
			attempt++
			if !connector.Sleep(n.killCtx, backoff(n.opts.RetryMin, min(n.opts.RetryMax, n.opts.LockTTL/4), attempt)) {
				return
			}
			continue
		}
		attempt = 0
	}
}

// tombstoneCheckInterval is how often an idle node asks whether a higher
// row exists so that its tombstone can go: at most every 100 ms, however
// short completionFlush is.
const tombstoneCheckInterval = 100 * time.Millisecond

// completeOnce completes what is waiting, and deletes this node's old
// tombstones once a higher row exists.
func (n *Node) completeOnce(ctx context.Context) error {
	n.mu.Lock()
	acked := n.acked
	n.acked = nil
	tombs := n.tombstones
	checkTombs := len(acked) == 0 && len(tombs) > 0 && !n.opts.RetainProcessed && time.Since(n.tombsCheckedAt) >= tombstoneCheckInterval
	if checkTombs {
		n.tombsCheckedAt = time.Now()
	}
	n.mu.Unlock()
	if len(acked) == 0 {
		if !checkTombs {
			return nil
		}
		// Only a tombstone: touch the database only when a higher row exists.
		maxID, err := n.store.OutboxMaxID(ctx)
		if err != nil {
			return err
		}
		if maxID <= maxOf(tombs) {
			return nil
		}
	}
	ids := make([]int64, len(acked))
	for i, a := range acked {
		ids[i] = a.id
	}
	still, err := n.store.OutboxComplete(ctx, OutboxCompleteParams{Node: n.id, IDs: ids, Tombstones: tombs, Retain: n.opts.RetainProcessed})
	if err != nil {
		n.mu.Lock()
		n.acked = append(acked, n.acked...)
		n.mu.Unlock()
		return err
	}
	n.jr.tombstonesGone(tombs, still)
	n.jr.completed(ids, still, n.opts.RetainProcessed, n.observeStages)
	n.mu.Lock()
	n.tombstones = still
	for _, a := range acked {
		cs := n.channels[a.channel]
		if cs == nil || !cs.ids[a.id] {
			continue
		}
		delete(cs.ids, a.id)
		n.held--
		if len(cs.ids) == 0 && !cs.running && !cs.blocked && cs.lastError == nil {
			delete(n.channels, a.channel)
		}
	}
	kick := n.deferred
	n.deferred = false
	n.mu.Unlock()
	if kick {
		n.kick()
	}
	return nil
}

// finalFlush completes everything acknowledged before the node stops.
func (n *Node) finalFlush(ctx context.Context) {
	n.mu.Lock()
	n.tombsCheckedAt = time.Time{} // a stopping node checks its tombstones whenever it last did
	n.mu.Unlock()
	for i := 0; i < 3; i++ {
		if err := n.completeOnce(ctx); err == nil {
			return
		} else {
			n.log.Warn("final completion failed", "err", err)
		}
	}
}

func maxOf(xs []int64) int64 {
	var m int64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
