package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// upStack is everything `up` runs: the sandbox (or an external database),
// the Ably endpoint, connector nodes, the monitor and the live tail, all
// built by the one stack constructor.
type upStack struct {
	stack    *stack.Stack
	st       *sandbox.State
	external bool
	readonly bool
	keep     bool
	stopAbly func()
	bus      *connector.Bus
	pool     *pgxpool.Pool
	mon      *monitor.Monitor
	tail     *monitor.Tail
	endpoint stack.Endpoint
	logger   *slog.Logger

	mongo *mongoRunner

	mu       sync.Mutex
	group    *postgres.Group
	connOpts postgres.Options
}

// startStack brings everything up, writing progress lines to progress.
// On error it stops what it had started.
func startStack(ctx context.Context, stk *stack.Stack, f upFlags, progress, logw io.Writer) (s *upStack, err error) {
	cfg := stk.Config
	s = &upStack{stack: stk, external: cfg.Postgres.URL != "", keep: f.keep, bus: &connector.Bus{},
		logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	s.readonly = cfg.Dashboard.Readonly || (s.external && !f.allowWrites)
	defer func() {
		if err != nil {
			s.stop(progress)
		}
	}()
	opts := stk.SandboxOptions(progress)
	opts.Executable = "" // up serves the endpoint in-process
	fmt.Fprintln(progress, "bringing the sandbox up…")
	if s.st, err = stk.Up(ctx, opts); err != nil {
		return s, err
	}
	if s.stopAbly, err = upAbly(ctx, stk, progress); err != nil {
		return s, err
	}
	if s.pool, err = stk.Pool(ctx, "livesync-dev dashboard", 4); err != nil {
		return s, err
	}
	if s.endpoint, err = stk.Endpoint(stack.EndpointParams{}); err != nil {
		return s, err
	}
	runConnector := !s.external || f.connector
	if runConnector {
		if s.external && !f.force {
			probe := monitor.New(s.pool, stk.MonitorOptions(true, nil))
			if err := stk.RefuseForeignNodes(ctx, probe); err != nil {
				return s, err
			}
		}
		fmt.Fprintln(progress, "starting the connector…")
		if s.connOpts, err = stk.ConnectorOptions(s.endpoint); err != nil {
			return s, err
		}
		s.connOpts.StateDir = filepath.Join(s.st.Dir(), sandbox.DirName)
		s.connOpts.Events = s.bus
		s.connOpts.Logger = s.logger
		if s.group, err = postgres.StartNodes(ctx, s.connOpts); err != nil {
			return s, err
		}
		if !s.external {
			s.mongo = startMongoBeside(ctx, stk, s.endpoint, s.bus, s.logger, progress)
		}
	}
	var own []string
	var inProcess monitor.ConnectorStates
	if s.group != nil {
		for _, n := range s.group.Nodes {
			own = append(own, n.ID())
		}
	}
	if s.group != nil || s.mongo != nil {
		inProcess = monitor.InProcessNodes{States: s.nodeStates, Journeys: s.nodeJournals}
	}
	s.mon = monitor.New(s.pool, stk.MonitorOptions(s.readonly, inProcess, own...))
	if s.st.Ably != nil {
		fmt.Fprintln(progress, "attaching the live tail…")
		if s.tail, err = stk.StartTail(ctx, s.endpoint, stack.TailParams{Logger: s.logger}); err != nil {
			return s, fmt.Errorf("live tail: %w", err)
		}
	}
	return s, nil
}

// nodeStates hands the monitor the in-process nodes' state directly (other
// processes' nodes are read over HTTP through the registry).
func (s *upStack) nodeStates(context.Context) ([]connector.NodeState, error) {
	s.mu.Lock()
	g := s.group
	s.mu.Unlock()
	var out []connector.NodeState
	if g != nil {
		for _, n := range g.Nodes {
			out = append(out, n.State())
		}
	}
	if st, ok := s.mongo.state(); ok {
		out = append(out, st)
	}
	return out, nil
}

// inProcessKill returns the crash-stop of a node this process runs (the
// dashboard's `connector kill` of an in-process node).
func (s *upStack) inProcessKill(id string) (func(), bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group != nil {
		for _, n := range s.group.Nodes {
			if n.ID() == id {
				return n.Kill, true
			}
		}
	}
	return nil, false
}

// restartConnector applies new connector settings by restarting the nodes
// (the event bus stays, so subscribers keep listening).
func (s *upStack) restartConnector(ctx context.Context, cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return nil
	}
	next := stackWith(s.stack, cfg).ConnectorTuning()
	next.DatabaseURL, next.Ably, next.RealAbly = s.connOpts.DatabaseURL, s.connOpts.Ably, s.connOpts.RealAbly
	next.StateDir, next.Events, next.Logger = s.connOpts.StateDir, s.connOpts.Events, s.connOpts.Logger
	if _, err := next.Validate(); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.group.Stop(sctx); err != nil {
		s.logger.Warn("stopping nodes for a config change", "err", err)
	}
	g, err := postgres.StartNodes(ctx, next)
	if err != nil {
		s.group = nil
		return err
	}
	s.group, s.connOpts = g, next
	return nil
}

// stackWith is st with the configuration replaced (a hot reload).
func stackWith(st *stack.Stack, cfg *config.Config) *stack.Stack {
	next := &stack.Stack{Config: cfg}
	if st != nil {
		next.Sandbox, next.ConfigFile = st.Sandbox, st.ConfigFile
	}
	return next
}

// connectorChanged reports whether the connector section differs.
func connectorChanged(a, b *config.Config) bool {
	x, y := stackWith(nil, a).ConnectorTuning(), stackWith(nil, b).ConnectorTuning()
	return fmt.Sprintf("%+v", x) != fmt.Sprintf("%+v", y)
}

// stop stops everything startStack started, newest first.
func (s *upStack) stop(out io.Writer) {
	if s.tail != nil {
		s.tail.Close()
	}
	s.mongo.stop(out)
	s.mu.Lock()
	g := s.group
	s.group = nil
	s.mu.Unlock()
	if g != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := g.Stop(ctx); err != nil {
			fmt.Fprintf(out, "stopping the connector: %v\n", err)
		}
		cancel()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.stopAbly != nil {
		s.stopAbly()
	}
	if s.st == nil || s.keep || !s.st.StartedPostgres() || s.external {
		if s.st != nil {
			fmt.Fprintln(out, "leaving the sandbox running")
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := sandbox.Down(ctx, sandbox.DownOptions{Dir: s.st.Dir(), Progress: out}); err != nil && !errors.Is(err, sandbox.ErrNotFound) {
		fmt.Fprintf(out, "sandbox down: %v\n", err)
	}
}
