package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// Group is a set of nodes running in one process, each with its own
// database pool, LISTEN connection, Ably connection and health server.
type Group struct {
	// Nodes are the running nodes.
	Nodes []*Node
}

// StartNodes validates opts and starts opts.Nodes nodes sharing opts.Events.
// When one fails to start, the ones already started are stopped.
func StartNodes(ctx context.Context, opts Options) (*Group, error) {
	opts, err := opts.Validate()
	if err != nil {
		return nil, err
	}
	g := &Group{}
	for i := 0; i < opts.Nodes; i++ {
		n, err := Start(ctx, opts)
		if err != nil {
			_ = g.Stop(ctx)
			return nil, fmt.Errorf("start node %d of %d: %w", i+1, opts.Nodes, err)
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

// Stop stops every node gracefully, in parallel.
func (g *Group) Stop(ctx context.Context) error {
	errs := make(chan error, len(g.Nodes))
	for _, n := range g.Nodes {
		go func() { errs <- n.Stop(ctx) }()
	}
	var all []error
	for range g.Nodes {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// RunNodes starts opts.Nodes nodes, runs them until ctx ends, then stops
// them gracefully (at most grace; 0 means 30s). started, when set, is called
// once all nodes run (for status output).
func RunNodes(ctx context.Context, opts Options, grace time.Duration, started func(*Group)) error {
	g, err := StartNodes(ctx, opts)
	if err != nil {
		return err
	}
	if started != nil {
		started(g)
	}
	<-ctx.Done()
	if grace <= 0 {
		grace = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	return g.Stop(sctx)
}

// States returns each node's connector.NodeState, in the order of Nodes
// (what `up` hands the monitor for its in-process nodes).
func (g *Group) States() []connector.NodeState {
	out := make([]connector.NodeState, len(g.Nodes))
	for i, n := range g.Nodes {
		out[i] = n.State()
	}
	return out
}
