package postgres

import (
	"context"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// heartbeatLoop renews the node's lease every HeartbeatTimeout/3, reaps
// expired nodes and extends the locks of queued rows.
func (n *Node) heartbeatLoop() {
	t := time.NewTicker(n.opts.HeartbeatTimeout / 3)
	defer t.Stop()
	for {
		select {
		case <-n.runCtx.Done():
			return
		case <-t.C:
		}
		n.heartbeat(n.runCtx)
	}
}

func (n *Node) heartbeat(ctx context.Context) {
	found, err := n.store.NodeHeartbeat(ctx, NodeHeartbeatParams{ID: n.id, Timeout: n.opts.HeartbeatTimeout})
	if err != nil {
		n.nodesError("heartbeat", err)
		return
	}
	if !found {
		n.log.Warn("node row was reaped (missed heartbeats); registering again")
		n.emit(connector.Event{Kind: connector.EventLeaseLost, Message: "node row expired and was reaped"})
		if err := n.store.NodeRegister(ctx, NodeRegisterParams{ID: n.id, Timeout: n.opts.HeartbeatTimeout}); err != nil {
			n.nodesError("register", err)
			return
		}
		n.emit(connector.Event{Kind: connector.EventLeaseGained, Message: "node registered again"})
		n.kick()
	}
	n.nodesUp.Store(true)
	if reaped, err := n.store.NodeReap(ctx); err != nil {
		n.nodesError("reap", err)
	} else if reaped > 0 {
		n.log.Info("reaped expired nodes; taking over their channels when their locks lapse", "nodes", reaped)
		n.emit(connector.Event{Kind: connector.EventInfo, Rows: int(reaped), Message: "reaped expired nodes"})
		n.kick()
	}
	n.watchMembers(ctx)
	n.extendQueued(ctx)
}

// watchMembers sweeps tombstones when a node left since the last
// heartbeat (stopped, or reaped by any node): the tombstone it may have
// left is adopted, or deleted once it is no longer the max.
func (n *Node) watchMembers(ctx context.Context) {
	ids, err := n.store.NodeIDs(ctx)
	if err != nil {
		n.nodesError("list nodes", err)
		return
	}
	now := make(map[string]bool, len(ids))
	for _, id := range ids {
		now[id] = true
	}
	left := false
	for id := range n.members {
		left = left || !now[id]
	}
	n.members = now
	if left {
		n.sweepTombstones(ctx)
	}
}

func (n *Node) nodesError(what string, err error) {
	if ctxErr(err) {
		return
	}
	n.nodesUp.Store(false)
	n.m.nodesErrors.Inc()
	n.log.Warn(what+" failed", "err", err)
}

func ctxErr(err error) bool { return err == context.Canceled || err == context.DeadlineExceeded }

// extendQueued keeps queued rows' locks alive while they wait (backoff).
func (n *Node) extendQueued(ctx context.Context) {
	n.mu.Lock()
	var ids []int64
	for _, cs := range n.channels {
		ids = append(ids, queueIDs(cs)...)
	}
	n.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	start := time.Now()
	got, err := n.store.OutboxExtend(ctx, OutboxExtendParams{Node: n.id, IDs: ids, LockTTL: n.opts.LockTTL})
	if err != nil {
		n.dbError("extend locks", err)
		return
	}
	n.jr.fenced(ids, func(id int64) bool { return got[id] }, kExtend, time.Now())
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, cs := range n.channels {
		for _, q := range cs.queue {
			if got[q.row.SequenceID] {
				q.confirmed, q.deadline = start, start.Add(n.opts.LockTTL-n.opts.fenceMargin())
			}
		}
	}
}
