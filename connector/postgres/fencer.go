package postgres

import (
	"context"
	"time"
)

// fenceRequest asks the fencer to extend the locks of ids.
type fenceRequest struct {
	ids   []int64
	reply chan fenceReply
	// ahead marks a prefetch: the row is sent only after the previous
	// row's ACK, so its round may wait a little for other channels'.
	ahead bool
}

// fenceReply maps each row still held to its remaining lock time
// (read-only, shared by the requests of one round), or is the error.
type fenceReply struct {
	got map[int64]time.Duration
	err error
}

// fenceQueue is how many requests may wait for the fencer: prefetches are
// queued without a goroutine each, up to this many.
const fenceQueue = 1024

// maxFenceBatch bounds how many channel requests one UPDATE serves.
const maxFenceBatch = 256

// fenceLinger is how long a round made only of prefetches waits for more
// requests before it starts. Prefetches are asked for as a row is sent and
// needed only at its ACK, so with many channels one round serves most of
// them instead of a round per few channels; a worker that needs its
// prefetch sooner (the ACK came first) ends the wait (Node.fenceHurry),
// and a request for an attempt about to be sent never waits.
const fenceLinger = time.Millisecond

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
		batch = n.gatherFences(batch)
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

// gatherFences adds to a round the requests already waiting and, while the
// round holds only prefetches, those arriving within fenceLinger.
func (n *Node) gatherFences(batch []fenceRequest) []fenceRequest {
	urgent := !batch[0].ahead
	for len(batch) < maxFenceBatch {
		select {
		case r := <-n.fenceReqs:
			batch = append(batch, r)
			urgent = urgent || !r.ahead
			continue
		default:
		}
		break
	}
	if urgent {
		return batch
	}
	select {
	case <-n.fenceHurry: // a stale nudge from an earlier round
	default:
	}
	t := time.NewTimer(fenceLinger)
	defer t.Stop()
	for len(batch) < maxFenceBatch {
		select {
		case r := <-n.fenceReqs:
			batch = append(batch, r)
			if !r.ahead {
				return batch
			}
		case <-n.fenceHurry:
			return batch
		case <-t.C:
			return batch
		case <-n.runCtx.Done():
			return batch
		}
	}
	return batch
}

// hurryFence ends a lingering fence round: a worker waits for its prefetch.
func (n *Node) hurryFence() {
	select {
	case n.fenceHurry <- struct{}{}:
	default:
	}
}
