package cli

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/livesync-dev/livesync-dev/internal/stack"
)

func init() { commands = append(commands, newUpCommand) }

// upFlags are the flags of `up`.
type upFlags struct {
	keep        bool
	readonly    bool
	headless    bool
	connector   bool
	allowWrites bool
	force       bool
	pgURL       string
	ablyKey     string
	mongoURL    string
	nodes       int
}

func newUpCommand() *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Sandbox + connector + dashboard (the default command)",
		Long: "Bring the sandbox up (reusing a healthy one), serve the Ably endpoint, start the connector\n" +
			"node(s) and the live tail, and show the dashboard until q or Ctrl-C; then stop what this\n" +
			"command started (nothing it found already running), unless --keep. Without a terminal, or\n" +
			"with --headless, it prints status lines instead. With --pg-url it debugs someone else's\n" +
			"outbox: read-only unless --allow-writes, and no connector unless --connector.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stk, overrides, err := upStackConfig(cmd, f)
			if err != nil {
				return err
			}
			if f.headless || !term.IsTerminal(int(os.Stdout.Fd())) {
				return runHeadless(ctx, cmd, stk, f)
			}
			return runDashboard(ctx, cmd, stk, overrides, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.keep, "keep", false, "leave the sandbox running on exit")
	fl.BoolVar(&f.readonly, "readonly", false, "hide and refuse every action that writes")
	fl.BoolVar(&f.headless, "headless", false, "print status lines instead of the dashboard")
	fl.StringVar(&f.pgURL, "pg-url", "", "attach to an existing database (read-only, no connector, unless the flags below)")
	fl.BoolVar(&f.connector, "connector", false, "with --pg-url: also run our connector against it")
	fl.BoolVar(&f.allowWrites, "allow-writes", false, "with --pg-url: allow inserts and row actions")
	fl.BoolVar(&f.force, "force", false, "with --connector: run even while the nodes table holds live nodes that are not ours")
	fl.StringVar(&f.ablyKey, "ably-key", "", "publish to real Ably with this key (or set ABLY_API_KEY); never written to disk")
	fl.StringVar(&f.mongoURL, "mongo-url", "", "use this MongoDB replica set for the Mongo connector (default: compose or a native mongod when available)")
	fl.IntVar(&f.nodes, "nodes", 1, "connector nodes to run in this process")
	return cmd
}

// rootRunsUp makes `livesync-dev` with no command run `up`.
func rootRunsUp(root *cobra.Command) {
	up := newUpCommand()
	root.Flags().AddFlagSet(up.Flags())
	root.Args = cobra.NoArgs
	root.RunE = up.RunE
}

// upStackConfig loads the stack with `up`'s flags as overrides.
func upStackConfig(cmd *cobra.Command, f upFlags) (*stack.Stack, map[string]string, error) {
	overrides := map[string]string{}
	changed(cmd, overrides, "pg-url", "postgres.url")
	changed(cmd, overrides, "ably-key", "ably.key")
	changed(cmd, overrides, "mongo-url", "mongo.url")
	changed(cmd, overrides, "nodes", "connector.nodes")
	if f.readonly {
		overrides["dashboard.readonly"] = "true"
	}
	stk, err := loadStack(cmd, overrides)
	return stk, overrides, err
}
