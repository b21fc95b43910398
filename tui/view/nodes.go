package view

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// NodesPanel lists node leases with a live countdown, the rows each locks,
// the state its event stream reports and the channels it owns.
type NodesPanel struct {
	*panel
	env   *env
	nodes []monitor.Node
}

// newNodesPanel builds the Nodes panel.
func newNodesPanel(e *env) *NodesPanel {
	n := &NodesPanel{env: e}
	n.panel = newPanel("Nodes", n, &e.theme, nil)
	return n
}

// header implements rowSource.
func (n *NodesPanel) header() []string {
	return []string{"NODE", "STATE", "LEASE", "LOCKED", "CHANNELS"}
}

// count implements rowSource.
func (n *NodesPanel) count() int { return len(n.nodes) }

// cell implements rowSource.
func (n *NodesPanel) cell(r, c int) (string, tcell.Color) {
	t := &n.env.theme
	node := n.nodes[r]
	left := n.env.state.ExpiresIn(node, n.env.now())
	switch c {
	case 0:
		id := node.ID
		if node.Own {
			id += " (ours)"
		}
		return id, t.Fg
	case 1:
		return nodeState(t, n.env.state, node, left.Seconds())
	case 2:
		if left <= 0 {
			return "expired " + fmtAge(-left.Seconds()) + " ago", t.Err
		}
		return fmtAge(left.Seconds()), t.Fg
	case 3:
		if node.RowsLocked == nil {
			return "?", t.Dim
		}
		return fmtCount(*node.RowsLocked), t.Fg
	}
	return strings.Join(n.env.state.NodeChannels(node.ID, n.env.now()), " "), t.Fg
}

// nodeState combines the lease and the node's last event into one word.
func nodeState(t *Theme, s *model.State, node monitor.Node, left float64) (string, tcell.Color) {
	if left <= 0 {
		return "dead", t.Err
	}
	if ns := s.Nodes[node.ID]; ns != nil {
		switch ns.LastKind {
		case connector.EventLeaseLost:
			return "lease lost", t.Err
		case connector.EventFailed, connector.EventBlocked:
			return "failing", t.Warn
		}
	}
	return "live", t.OK
}

// SetFilter filters nodes by id or channel.
func (n *NodesPanel) SetFilter(q string) {
	n.panel.filter = q
	n.Update()
}

// Update re-reads the snapshot.
func (n *NodesPanel) Update() {
	n.nodes = n.nodes[:0]
	m := model.NewMatcher(n.panel.filter)
	if s := n.env.state.Snap; s != nil {
		for _, node := range s.Nodes {
			if m.Match(node.ID, strings.Join(n.env.state.NodeChannels(node.ID, n.env.now()), " ")) {
				n.nodes = append(n.nodes, node)
			}
		}
	}
	n.clampSelection()
}

// Inspect returns the selected node as JSON.
func (n *NodesPanel) Inspect() (string, []byte, bool) {
	r := n.row()
	if r < 0 || r >= len(n.nodes) {
		return "", nil, false
	}
	node := n.nodes[r]
	b, _ := json.Marshal(map[string]any{"node": node, "channels": n.env.state.NodeChannels(node.ID, n.env.now()),
		"leaseSecondsLeft": strconv.FormatFloat(n.env.state.ExpiresIn(node, n.env.now()).Seconds(), 'f', 1, 64)})
	return "Node " + node.ID, b, true
}

// SelectedNode returns the selected node (for kill, pause and resume).
func (n *NodesPanel) SelectedNode() (monitor.Node, bool) {
	r := n.row()
	if r < 0 || r >= len(n.nodes) {
		return monitor.Node{}, false
	}
	return n.nodes[r], true
}
