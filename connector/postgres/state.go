package postgres

import (
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// ablyWatch records the realtime connection's state changes as the
// publisher reports them (OnState).
type ablyWatch struct {
	mu    sync.Mutex
	state connector.AblyConnState
}

// onState is the publisher's OnState callback.
func (w *ablyWatch) onState(state string, reason error) {
	now := time.Now().UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state = connector.AblyConnState{State: strings.ToLower(state), Reason: connector.NewErrorInfo(reason, now), Since: &now}
}

// get returns the recorded state; when the connection is in another state
// than the last one reported (a change before the callback was attached),
// the live state without a time.
func (w *ablyWatch) get(live string) connector.AblyConnState {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.State != live {
		return connector.AblyConnState{State: live}
	}
	s := w.state
	if s.Reason != nil {
		r := *s.Reason
		s.Reason = &r
	}
	return s
}

// unixTime is a time kept as unix nanoseconds (0: never).
func unixTime(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

// State returns the node's connector.NodeState: what it serves at
// connector.StatePath and what `up` reads in process.
func (n *Node) State() connector.NodeState {
	s := connector.NodeState{Node: n.id, Kind: "postgres", PID: os.Getpid(), Share: n.share.Load().(string),
		Time: time.Now().UTC(), DeferredClaims: n.deferredClaims.Load(), LastNotification: unixTime(n.lastNote.Load()),
		LastClaim: unixTime(n.lastFound.Load()), Paced: n.pub.Paced(), Ably: n.ablyState.get(n.pub.ConnState()),
		EventsDropped: n.bus.Dropped(), Channels: []connector.ChannelState{}, Stages: n.Stages()}
	n.mu.Lock()
	defer n.mu.Unlock()
	s.Held, s.AwaitingCompletion = n.held, len(n.acked)
	for _, cs := range n.channels {
		c := connector.ChannelState{Channel: cs.name, Owner: n.id, Queued: len(cs.queue), InFlight: cs.inFlight,
			Attempts: cs.attempts, Blocked: cs.blocked}
		if len(cs.queue) > 0 {
			c.Head = cs.queue[0].row.SequenceID
		}
		if cs.blocked {
			c.BlockedRow, c.Head = cs.blockRow, cs.blockRow
		}
		if cs.lastError != nil {
			e := *cs.lastError
			c.LastError = &e
		}
		if !cs.nextRetry.IsZero() {
			t := cs.nextRetry.UTC()
			c.NextRetry = &t
		}
		if cs.inFlight {
			s.InFlight++
		}
		s.Channels = append(s.Channels, c)
	}
	sort.Slice(s.Channels, func(i, j int) bool { return s.Channels[i].Channel < s.Channels[j].Channel })
	return s
}
