package postgres

import (
	"context"
	"time"
)

// fenceRequest asks the fencer to extend the locks of ids.
type fenceRequest struct {
	ids   []int64
	reply chan fenceReply
}

// fenceReply maps each row still held to its remaining lock time
// (read-only, shared by the requests of one round), or is the error.
type fenceReply struct {
	got map[int64]time.Duration
	err error
}

// maxFenceBatch bounds how many channel requests one UPDATE serves.
const maxFenceBatch = 256

// confirm confirms the node's locks on ids before a publish attempt,
// extending those running low (Store.OutboxFence). Channel workers fence
// concurrently; the fencer serves all requests that arrive while one
// statement is in flight with the next single statement (group fencing),
// so fencing every attempt costs one round trip per round, not one per
// message.
func (n *Node) confirm(ctx context.Context, ids []int64) (map[int64]time.Duration, error) {
	req := fenceRequest{ids: ids, reply: make(chan fenceReply, 1)}
	select {
	case n.fenceReqs <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.got, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fenceLoop serves extend requests in rounds until the node stops taking
// work.
func (n *Node) fenceLoop() {
	for {
		var batch []fenceRequest
		select {
		case <-n.runCtx.Done():
			return
		case r := <-n.fenceReqs:
			batch = append(batch, r)
		}
	gather:
		for len(batch) < maxFenceBatch {
			select {
			case r := <-n.fenceReqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		var ids []int64
		for _, r := range batch {
			ids = append(ids, r.ids...)
		}
		got, err := n.store.OutboxFence(n.runCtx, OutboxFenceParams{Node: n.id, IDs: ids, LockTTL: n.opts.LockTTL, ExtendBelow: n.opts.fenceExtendBelow()})
		for _, r := range batch {
			r.reply <- fenceReply{got: got, err: err}
		}
	}
}
