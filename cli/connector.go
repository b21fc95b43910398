package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/internal/stack"
)

func init() { commands = append(commands, newConnectorCommand) }

func newConnectorCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Run the LiveSync connector headless (Postgres, or MongoDB with run --mongo)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("connector needs a subcommand: run, kill, pause or resume")
		},
	}
	cmd.AddCommand(newConnectorRunCommand())
	cmd.AddCommand(newConnectorSignalCommands()...)
	return cmd
}

// connectorRunFlags are `connector run`'s flags.
type connectorRunFlags struct {
	nodes      int
	healthAddr string
	pgURL      string
	ablyHost   string
	ablyPort   int
	ablyKey    string
	ablyTLS    bool
	fixedRate  bool
	verbose    bool
	force      bool
	pprof      bool
	mongo      bool
	mongoURL   string
}

func newConnectorRunCommand() *cobra.Command {
	var f connectorRunFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run connector node(s) against the sandbox until Ctrl-C",
		Long: "Run one or more LiveSync connector nodes in this process, each with its own database and Ably\n" +
			"connections, against the sandbox found through .livesync/sandbox.json (or --pg-url and the\n" +
			"--ably-* flags). Status lines go to stderr. Ctrl-C stops gracefully: in-flight rows finish or\n" +
			"are released and each node deletes its row in the nodes table.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.mongo {
				return runMongoConnector(cmd, f)
			}
			return runConnector(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.nodes, "nodes", 1, "number of connector nodes to run in this process (1..64)")
	fl.StringVar(&f.healthAddr, "health-addr", "127.0.0.1:2259", "address of /health, /metrics and /debug/state (taken: a free port, logged)")
	fl.StringVar(&f.pgURL, "pg-url", "", "outbox database URL (default: the sandbox's)")
	fl.StringVar(&f.ablyHost, "ably-host", "", "Ably-compatible endpoint host (default: the sandbox's local endpoint)")
	fl.IntVar(&f.ablyPort, "ably-port", 0, "Ably-compatible endpoint port")
	fl.StringVar(&f.ablyKey, "ably-key", "", "API key (default: the sandbox's; without a local endpoint: real Ably, or $ABLY_API_KEY)")
	fl.BoolVar(&f.ablyTLS, "ably-tls", false, "with --ably-host: use TLS")
	fl.BoolVar(&f.fixedRate, "poll-fixed-rate", false, "poll every poll interval instead of LISTEN/NOTIFY")
	fl.BoolVar(&f.verbose, "verbose", false, "log debug detail to stderr")
	fl.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof on each node's health address and record block and mutex profiles")
	fl.BoolVar(&f.mongo, "mongo", false, "run the MongoDB change-stream connector (livesync.yaml's mongo section) instead of the Postgres one")
	fl.StringVar(&f.mongoURL, "mongo-url", "", "with --mongo: the replica set (default: mongo.url, else the sandbox's)")
	fl.BoolVar(&f.force, "force", false, "with --pg-url: run even while the nodes table holds live nodes that are not ours")
	return cmd
}

func runConnector(cmd *cobra.Command, f connectorRunFlags) error {
	if f.nodes < 1 || f.nodes > 64 {
		return usageError("--nodes %d is out of range: use 1..64", f.nodes)
	}
	overrides := map[string]string{}
	changed(cmd, overrides, "nodes", "connector.nodes")
	changed(cmd, overrides, "health-addr", "connector.healthAddr")
	changed(cmd, overrides, "poll-fixed-rate", "connector.pollFixedRate")
	changed(cmd, overrides, "pg-url", "postgres.url")
	connectorGC.apply()
	st, err := loadStack(cmd, overrides)
	if err != nil {
		return err
	}
	if _, err := st.PostgresURL(); err != nil {
		return stackError(err)
	}
	ep, err := st.Endpoint(stack.EndpointParams{Host: f.ablyHost, Port: f.ablyPort, TLS: f.ablyTLS, Key: f.ablyKey})
	if err != nil {
		return stackError(err)
	}
	opts, err := st.ConnectorOptions(ep)
	if err != nil {
		return stackError(err)
	}
	if st.External() && !f.force {
		if err := refuseForeignNodes(cmd.Context(), st); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	stderr := cmd.ErrOrStderr()
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	bus := &connector.Bus{}
	opts.Events = bus
	opts.Profile = f.pprof
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if _, err := opts.Validate(); err != nil {
		return usageError("%v", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	events, unsub := bus.Subscribe(4096)
	defer unsub()
	var wg sync.WaitGroup
	statusCtx, stopStatus := context.WithCancel(context.Background())
	defer func() { stopStatus(); wg.Wait() }()
	fmt.Fprintf(stderr, "connector: %s\n", st.Describe())
	err = postgres.RunNodes(ctx, opts, 30*time.Second, func(g *postgres.Group) {
		for _, n := range g.Nodes {
			fmt.Fprintf(stderr, "connector: node %s running; health http://%s/health\n", n.ID(), n.HealthAddr())
		}
		fmt.Fprintln(stderr, "connector: Ctrl-C stops gracefully")
		wg.Add(1)
		go func() { defer wg.Done(); printConnectorStatus(statusCtx, stderr, events, g) }()
	})
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintln(stderr, "connector: stopped")
	return nil
}

// printConnectorStatus prints notable events at once and a summary line
// every 5 seconds while rows move.
func printConnectorStatus(ctx context.Context, w io.Writer, events <-chan connector.Event, g *postgres.Group) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	var published, failed, lastPublished int
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			switch e.Kind {
			case connector.EventPublished:
				published++
			case connector.EventFailed:
				failed++
			case connector.EventBlocked:
				fmt.Fprintf(w, "connector: channel %s BLOCKED at row %d: Ably error %d: %s\n", e.Channel, e.SequenceID, e.Code, e.Message)
			case connector.EventUnblocked:
				fmt.Fprintf(w, "connector: channel %s unblocked\n", e.Channel)
			case connector.EventLeaseLost, connector.EventLeaseGained, connector.EventInfo:
				fmt.Fprintf(w, "connector: node %.8s %s %s %s\n", e.Node, e.Kind, e.Channel, e.Message)
			}
		case <-t.C:
			if published == lastPublished && failed == 0 {
				continue
			}
			held := 0
			for _, n := range g.Nodes {
				held += n.State().Held
			}
			fmt.Fprintf(w, "connector: published %d (%.0f/s), failed attempts %d, rows held %d\n",
				published, float64(published-lastPublished)/5, failed, held)
			lastPublished, failed = published, 0
		}
	}
}

// refuseForeignNodes applies DESIGN's external-database rule: the
// monitor looks for live nodes that are not ours.
func refuseForeignNodes(ctx context.Context, st *stack.Stack) error {
	m, closeDB, err := st.OpenMonitor(ctx, "livesync-dev connector", true)
	if err != nil {
		return err
	}
	defer closeDB()
	return st.RefuseForeignNodes(ctx, m)
}
