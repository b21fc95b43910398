package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// ConnectorStates is the seam between the monitor and the connector nodes
// it can ask about publishing. Each node reports a connector.NodeState, the
// one contract between the two sides. Only connectors of ours implement
// it; against a database served by someone else's connector there is none.
type ConnectorStates interface {
	// NodeStates returns the state of every node that answered. The error
	// is non-nil only when nodes are known and none answered.
	NodeStates(ctx context.Context) ([]connector.NodeState, error)
}

// NodeStatesFunc adapts a function (for example `up`'s in-process nodes'
// State methods) to ConnectorStates.
type NodeStatesFunc func(ctx context.Context) ([]connector.NodeState, error)

// NodeStates implements ConnectorStates.
func (f NodeStatesFunc) NodeStates(ctx context.Context) ([]connector.NodeState, error) { return f(ctx) }

// Connectors joins several sources of node states: in-process nodes first,
// then the registry; a node reported twice counts once.
type Connectors []ConnectorStates

// NodeStates implements ConnectorStates.
func (cs Connectors) NodeStates(ctx context.Context) ([]connector.NodeState, error) {
	var out []connector.NodeState
	seen := map[string]bool{}
	var errs []error
	for _, c := range cs {
		states, err := c.NodeStates(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range states {
			if !seen[s.Node] {
				seen[s.Node] = true
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// NodeRegistry reads the connector nodes registered in a sandbox
// (.livesync/nodes/<id>.json, each with the node's health address) and asks
// each one for its connector.NodeState at connector.StatePath. It
// implements ConnectorStates.
type NodeRegistry struct {
	// Dir is the .livesync/nodes directory.
	Dir string
	// Client makes the requests; nil means a client with a 2s timeout.
	Client *http.Client
}

// Nodes returns the registered node ids and health addresses, by id.
func (r NodeRegistry) Nodes() (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(r.Dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a node removing its file while we read
		}
		var n connector.NodeRegistration
		if json.Unmarshal(b, &n) != nil {
			continue
		}
		if n.ID == "" {
			n.ID = strings.TrimSuffix(filepath.Base(f), ".json")
		}
		out[n.ID] = n.HealthAddr
	}
	return out, nil
}

// NodeIDs returns the registered node ids, sorted (the monitor's OwnNodes).
func (r NodeRegistry) NodeIDs() []string {
	nodes, _ := r.Nodes()
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// NodeStates implements ConnectorStates. Nodes that do not answer are
// skipped; the error is non-nil only when no registered node answered.
func (r NodeRegistry) NodeStates(ctx context.Context) ([]connector.NodeState, error) {
	return fetchEach(ctx, r, func(client *http.Client, id, addr string) (connector.NodeState, error) {
		st, err := FetchNodeState(ctx, client, addr)
		if err == nil && st.Node == "" {
			st.Node = id
		}
		return st, err
	})
}

// fetchEach asks every registered node, in id order, with fetch; nodes
// that do not answer are skipped, and the error is non-nil only when none
// answered.
func fetchEach[T any](ctx context.Context, r NodeRegistry, fetch func(client *http.Client, id, addr string) (T, error)) ([]T, error) {
	nodes, err := r.Nodes()
	if err != nil {
		return nil, err
	}
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []T
	var lastErr error
	for _, id := range ids {
		v, err := fetch(client, id, nodes[id])
		if err != nil {
			lastErr = fmt.Errorf("node %s at %s: %w", id, nodes[id], err)
			continue
		}
		out = append(out, v)
	}
	if len(out) == 0 && lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

// FetchNodeState GETs http://addr + connector.StatePath and decodes the
// node's connector.NodeState.
func FetchNodeState(ctx context.Context, client *http.Client, addr string) (connector.NodeState, error) {
	var st connector.NodeState
	if addr == "" {
		return st, fmt.Errorf("no health address registered")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+connector.StatePath, nil)
	if err != nil {
		return st, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", connector.StatePath, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("GET %s: %w", connector.StatePath, err)
	}
	return st, nil
}

// channelView is what the diagnosis knows about one channel from the node
// holding it.
type channelView struct {
	node  string
	state connector.ChannelState
	ably  connector.AblyConnState
}

// channelViews indexes the nodes' channels by name; a blocked or failing
// report wins over a quiet one when two nodes report the same channel.
func channelViews(states []connector.NodeState) map[string]channelView {
	out := map[string]channelView{}
	for _, n := range states {
		for _, c := range n.Channels {
			v := channelView{node: n.Node, state: c, ably: n.Ably}
			if v.state.Owner == "" {
				v.state.Owner = n.Node
			}
			if old, ok := out[c.Channel]; ok && (old.state.Blocked || old.state.LastError != nil) && !c.Blocked && c.LastError == nil {
				continue
			}
			out[c.Channel] = v
		}
	}
	return out
}
