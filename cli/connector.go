package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

func init() { commands = append(commands, newConnectorCommand) }

func newConnectorCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Run the LiveSync connector headless (Postgres, or MongoDB with run --mongo)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("connector needs a subcommand: run")
		},
	}
	cmd.AddCommand(newConnectorRunCommand())
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
	fl.BoolVar(&f.mongo, "mongo", false, "run the MongoDB change-stream connector (livesync.yaml's mongo section) instead of the Postgres one")
	fl.StringVar(&f.mongoURL, "mongo-url", "", "with --mongo: the replica set (default: mongo.url, else the sandbox's)")
	fl.BoolVar(&f.force, "force", false, "with --pg-url: run even while the nodes table holds live nodes that are not ours")
	return cmd
}

// connectorEndpoint resolves the database URL and the Ably options from
// the flags and the sandbox state.
func connectorEndpoint(f connectorRunFlags) (pgURL string, opts []ably.ClientOption, real bool, stateDir string, err error) {
	st, serr := sandbox.LoadFrom(".")
	if serr == nil {
		stateDir = filepath.Join(st.Dir(), sandbox.DirName)
	}
	pgURL = f.pgURL
	if pgURL == "" {
		if serr != nil {
			return "", nil, false, "", &ExitError{Code: 1, Err: fmt.Errorf("no sandbox found (%v): run `livesync-dev sandbox up` here, or pass --pg-url", serr)}
		}
		pgURL = st.Postgres.URL
	}
	key := f.ablyKey
	switch {
	case f.ablyHost != "":
		if f.ablyPort <= 0 {
			return "", nil, false, "", usageError("--ably-host needs --ably-port")
		}
		if key == "" && st != nil && st.Ably != nil {
			key = st.Ably.Key
		}
		if key == "" {
			return "", nil, false, "", usageError("--ably-host needs --ably-key (no key recorded in sandbox.json)")
		}
		opts = endpointOptions(f.ablyHost, f.ablyPort, f.ablyTLS, key)
	case st != nil && st.Ably != nil && st.Ably.Local:
		if key == "" {
			key = st.Ably.Key
		}
		opts = endpointOptions(st.Ably.Host, st.Ably.Port, st.Ably.TLS, key)
	default:
		if key == "" {
			key = os.Getenv("ABLY_API_KEY")
		}
		if key == "" {
			return "", nil, false, "", &ExitError{Code: 1, Err: fmt.Errorf("no Ably endpoint: sandbox.json records none; start one with `livesync-dev sandbox up`, pass --ably-host/--ably-port/--ably-key, or set ABLY_API_KEY for real Ably")}
		}
		opts, real = []ably.ClientOption{ably.WithKey(key)}, true
	}
	return pgURL, opts, real, stateDir, nil
}

func endpointOptions(host string, port int, tls bool, key string) []ably.ClientOption {
	return ablyClientOptions(&sandbox.AblyState{Host: host, Port: port, TLS: tls, Local: true}, key)
}

func runConnector(cmd *cobra.Command, f connectorRunFlags) error {
	if f.nodes < 1 || f.nodes > 64 {
		return usageError("--nodes %d is out of range: use 1..64", f.nodes)
	}
	pgURL, ablyOpts, real, stateDir, err := connectorEndpoint(f)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	overrides := map[string]string{}
	changed(cmd, overrides, "nodes", "connector.nodes")
	changed(cmd, overrides, "health-addr", "connector.healthAddr")
	changed(cmd, overrides, "poll-fixed-rate", "connector.pollFixedRate")
	cfg, err := loadConfig(cmd, overrides)
	if err != nil {
		return err
	}
	if f.pgURL != "" && !f.force && !isSandboxURL(f.pgURL) {
		if err := checkForeignNodes(cmd.Context(), pgURL, cfg); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	bus := &connector.Bus{}
	opts := connectorTuning(cfg)
	opts.DatabaseURL, opts.Ably, opts.RealAbly, opts.StateDir, opts.Events = pgURL, ablyOpts, real, stateDir, bus
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
	fmt.Fprintf(stderr, "connector: database %s\n", dbconn.Redact(pgURL))
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

// checkForeignNodes applies DESIGN's external-database rule to --pg-url.
func checkForeignNodes(ctx context.Context, url string, cfg *config.Config) error {
	pool, err := dbconn.Pool(ctx, url, "livesync-dev connector", 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	return refuseForeignNodes(ctx, pool, cfg)
}

// isSandboxURL reports whether url is the sandbox's own database, which any
// number of our nodes may serve.
func isSandboxURL(url string) bool {
	st, err := sandbox.LoadFrom(".")
	return err == nil && st.Postgres.URL == url
}
