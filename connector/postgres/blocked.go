package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// blockedCheckPeriod is how often blocked channels re-check their blocking
// row: a fix (delete, update, `outbox retry`) resumes the channel within
// this period plus one claim.
func (o *Options) blockedCheckPeriod() time.Duration {
	return min(2*time.Second, o.SafetyPoll, o.HeartbeatTimeout/3)
}

// blockedLoop re-checks blocked channels' rows until the node stops.
func (n *Node) blockedLoop() {
	t := time.NewTicker(n.opts.blockedCheckPeriod())
	defer t.Stop()
	for {
		select {
		case <-n.runCtx.Done():
			return
		case <-t.C:
		}
		n.checkBlocked(n.runCtx)
	}
}

// checkBlocked resumes each blocked channel whose blocking row was deleted
// or processed, has other content than the one that failed (data, name,
// headers, channel, ...), or was written since the node released it (for
// example `outbox retry`, which clears locked_by and lock_expiry).
func (n *Node) checkBlocked(ctx context.Context) {
	n.mu.Lock()
	var rows []int64
	for _, cs := range n.channels {
		if cs.blocked {
			rows = append(rows, cs.blockRow)
		}
	}
	n.mu.Unlock()
	if len(rows) == 0 {
		return
	}
	now, err := n.store.OutboxRowVersions(ctx, rows)
	if err != nil {
		n.dbError("check blocked rows", err)
		return
	}
	var unblocked []connector.Event
	n.mu.Lock()
	for _, cs := range n.channels {
		if !cs.blocked {
			continue
		}
		why := ""
		v, ok := now[cs.blockRow]
		switch {
		case !ok:
			why = "its blocking row is gone"
		case !sameRow(v.Row, cs.blockedAs):
			why = "its blocking row was changed"
		case cs.blockXmin == 0:
			cs.blockXmin = v.Xmin // first look after the release
		case v.Xmin != cs.blockXmin:
			why = "its blocking row was released for a retry"
		}
		if why == "" {
			continue
		}
		cs.blocked, cs.attempts, cs.lastError = false, 0, nil
		unblocked = append(unblocked, connector.Event{Kind: connector.EventUnblocked, Channel: cs.name, SequenceID: cs.blockRow, Message: why})
	}
	n.mu.Unlock()
	for _, e := range unblocked {
		n.log.Info("channel unblocked: "+e.Message, "channel", e.Channel, "row", e.SequenceID)
		n.emit(e)
	}
	if len(unblocked) > 0 {
		n.kick()
	}
}

// sameRow reports whether two versions of a row would publish the same
// message.
func sameRow(a, b connector.Row) bool {
	return a.SequenceID == b.SequenceID && a.MutationID == b.MutationID && a.Channel == b.Channel && a.Name == b.Name &&
		a.Rejected == b.Rejected && bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Headers, b.Headers)
}
