package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// TestUpHandsInProcessNodeStateToTheMonitor: `up`'s monitor reads its own
// nodes' connector.NodeState in process (no HTTP): with a real node whose
// channel a 70 KB row blocks, the snapshot says blocked with 40009.
func TestUpHandsInProcessNodeStateToTheMonitor(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	stk, err := stack.Load(stack.Params{})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := stk.Endpoint(stack.EndpointParams{})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := stk.ConnectorOptions(ep)
	if err != nil {
		t.Fatal(err)
	}
	opts.StateDir = "" // not registered: only the in-process path can report it
	opts.HealthAddr = "127.0.0.1:0"
	ctx := context.Background()
	g, err := postgres.StartNodes(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(context.Background()) })
	up := &upStack{group: g}
	pool, err := stk.Pool(ctx, "up-state-test", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m := monitor.New(pool, stk.MonitorOptions(false, monitor.NodeStatesFunc(up.nodeStates), g.Nodes[0].ID()))
	id := s.insert("--channel", "poison:1", "--data", poisonData())[0]
	var last *monitor.Snapshot
	s.await("blocked reported in process", 10*time.Second, func() bool {
		snap, err := m.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = snap
		for _, st := range snap.Stuck {
			if st.SequenceID == id && st.Reason == monitor.Blocked && st.ErrorCode == 40009 {
				return true
			}
		}
		return false
	})
	if len(last.Connectors) != 1 || last.Connectors[0].Node != g.Nodes[0].ID() {
		t.Fatalf("connectors %+v: want the in-process node", last.Connectors)
	}
	for _, n := range last.Notes {
		if strings.Contains(n, "did not answer") {
			t.Fatalf("note %q: the in-process node must answer", n)
		}
	}
}
