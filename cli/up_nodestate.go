package cli

import (
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
)

// nodeState is an in-process node's connector.NodeState.
func nodeState(n *postgres.Node) connector.NodeState {
	st := n.State()
	out := connector.NodeState{Node: st.Node, Kind: "postgres", Share: st.Share, Held: st.Held,
		AwaitingCompletion: st.AwaitingCompletion, Paced: st.Paced, EventsDropped: st.EventsDropped}
	for _, c := range st.Channels {
		cs := connector.ChannelState{Channel: c.Channel, Owner: c.Owner, Head: c.Head, Queued: c.Queued,
			Attempts: c.Attempts, Blocked: c.Blocked, BlockedRow: c.BlockedRow}
		if c.LastErrorCode != 0 || c.LastError != "" {
			cs.LastError = &connector.ErrorInfo{Code: c.LastErrorCode, Message: c.LastError}
		}
		out.Channels = append(out.Channels, cs)
	}
	return out
}
