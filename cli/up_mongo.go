package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/internal/stack"
)

// mongoRunner is the Mongo connector `up` runs beside the Postgres nodes.
type mongoRunner struct{ m *stack.Mongo }

// startMongoBeside starts the Mongo connector through the stack when the
// sandbox has MongoDB (mongo.url counts too). MongoDB is optional: failing
// to start it is a line on progress, never an error of `up`.
func startMongoBeside(ctx context.Context, stk *stack.Stack, ep stack.Endpoint, bus *connector.Bus, logger *slog.Logger, progress io.Writer) *mongoRunner {
	if _, err := stk.MongoURL(); err != nil {
		if stk.Sandbox != nil && stk.Sandbox.Mongo.Reason != "" {
			fmt.Fprintf(progress, "mongo connector: not started: %s\n", stk.Sandbox.Mongo.Reason)
		}
		return nil
	}
	m, err := stk.StartMongo(ctx, stack.MongoParams{Endpoint: ep, Events: bus, Logger: logger})
	if err != nil {
		fmt.Fprintf(progress, "mongo connector: not started: %v\n", err)
		return nil
	}
	cfg := stk.Config.Mongo
	fmt.Fprintf(progress, "mongo connector: watching %s.%s\n", cfg.Database, cfg.Collection)
	return &mongoRunner{m: m}
}

// state is the connector's connector.NodeState, for the monitor in
// process (false when none runs).
func (r *mongoRunner) state() (connector.NodeState, bool) {
	if r == nil {
		return connector.NodeState{}, false
	}
	return r.m.Connector.State(), true
}

// docs writes test documents (the dashboard's insert form); nil when none.
func (r *mongoRunner) docs() *mongo.Driver {
	if r == nil {
		return nil
	}
	return r.m.Driver
}

// stop stores the resume token and disconnects.
func (r *mongoRunner) stop(out io.Writer) {
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.m.Stop(ctx); err != nil {
		fmt.Fprintf(out, "stopping the mongo connector: %v\n", err)
	}
}
