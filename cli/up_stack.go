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
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// upStack is everything `up` runs: the sandbox (or an external database),
// the Ably endpoint, connector nodes, the monitor and the live tail.
type upStack struct {
	st       *sandbox.State
	external bool
	readonly bool
	keep     bool
	stopAbly func()
	bus      *connector.Bus
	pool     *pgxpool.Pool
	mon      *monitor.Monitor
	tail     *monitor.Tail
	logger   *slog.Logger

	mu       sync.Mutex
	group    *postgres.Group
	connOpts postgres.Options
}

// startStack brings everything up, writing progress lines to progress.
// On error it stops what it had started.
func startStack(ctx context.Context, cfg *config.Config, f upFlags, progress, logw io.Writer) (s *upStack, err error) {
	s = &upStack{external: cfg.Postgres.URL != "", keep: f.keep, bus: &connector.Bus{},
		logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	s.readonly = cfg.Dashboard.Readonly || (s.external && !f.allowWrites)
	defer func() {
		if err != nil {
			s.stop(progress)
		}
	}()
	opts := sandboxOptions("", progress, cfg)
	opts.Executable = "" // up serves the endpoint in-process
	fmt.Fprintln(progress, "bringing the sandbox up…")
	if s.st, err = sandbox.Up(ctx, opts); err != nil {
		return s, err
	}
	if s.stopAbly, err = upAbly(ctx, s.st, cfg, progress); err != nil {
		return s, err
	}
	if s.pool, err = dbconn.Pool(ctx, s.st.Postgres.URL, "livesync-dev dashboard", 4); err != nil {
		return s, err
	}
	runConnector := !s.external || f.connector
	if runConnector {
		if s.external && !f.force {
			if err := refuseForeignNodes(ctx, s.pool, cfg); err != nil {
				return s, err
			}
		}
		fmt.Fprintln(progress, "starting the connector…")
		s.connOpts = connectorTuning(cfg)
		s.connOpts.DatabaseURL = s.st.Postgres.URL
		s.connOpts.Ably = ablyClientOptions(s.st.Ably, cfg.Ably.Key)
		s.connOpts.RealAbly = s.st.Ably != nil && !s.st.Ably.Local
		s.connOpts.StateDir = filepath.Join(s.st.Dir(), sandbox.DirName)
		s.connOpts.Events = s.bus
		s.connOpts.Logger = s.logger
		if s.group, err = postgres.StartNodes(ctx, s.connOpts); err != nil {
			return s, err
		}
	}
	mopts := monitor.Options{Names: names(cfg), ReadOnly: s.readonly, StuckAfter: cfg.Dashboard.StuckThreshold, LockTTL: cfg.Connector.LockTTL}
	if s.group != nil {
		for _, n := range s.group.Nodes {
			mopts.OwnNodes = append(mopts.OwnNodes, n.ID())
		}
		mopts.Connector = monitor.NodeRegistry{Dir: filepath.Join(s.st.Dir(), sandbox.DirName, "nodes")}
	}
	s.mon = monitor.New(s.pool, mopts)
	if s.st.Ably != nil {
		fmt.Fprintln(progress, "attaching the live tail…")
		s.tail, err = monitor.StartTail(ctx, monitor.TailOptions{
			ClientOptions: append(ablylog.ClientOptions(s.logger), ablyClientOptions(s.st.Ably, cfg.Ably.Key)...), Buffer: cfg.Dashboard.TailBuffer,
		})
		if err != nil {
			return s, fmt.Errorf("live tail: %w", err)
		}
	}
	return s, nil
}

// refuseForeignNodes keeps our connector off an outbox that live nodes of
// someone else serve: it would claim and delete their rows and publish them
// to the wrong place.
func refuseForeignNodes(ctx context.Context, pool *pgxpool.Pool, cfg *config.Config) error {
	var n int
	q := fmt.Sprintf("SELECT count(*) FROM %s WHERE expiry > now() AT TIME ZONE 'utc'", names(cfg).Nodes())
	if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
		return fmt.Errorf("checking the nodes table for live connectors: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("the nodes table holds %d live node(s) that are not ours: our connector would claim and delete their rows and publish them to our endpoint; stop those nodes, drop --connector, or pass --force", n)
	}
	return nil
}

// restartConnector applies new connector settings by restarting the nodes
// (the event bus stays, so subscribers keep listening).
func (s *upStack) restartConnector(ctx context.Context, cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.group == nil {
		return nil
	}
	next := connectorTuning(cfg)
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

// connectorChanged reports whether the connector section differs.
func connectorChanged(a, b *config.Config) bool {
	x, y := connectorTuning(a), connectorTuning(b)
	return fmt.Sprintf("%+v", x) != fmt.Sprintf("%+v", y)
}

// stop stops everything startStack started, newest first.
func (s *upStack) stop(out io.Writer) {
	if s.tail != nil {
		s.tail.Close()
	}
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
