package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/sandbox"
)

func init() { commands = append(commands, newUpCommand) }

// upFlags are the flags of `up`.
type upFlags struct {
	keep  bool
	pgURL string
}

func newUpCommand() *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring the sandbox up and keep it running until Ctrl-C",
		Long: "Bring the sandbox up (reusing a healthy one), print its status, and wait until Ctrl-C;\n" +
			"then stop what this command started (nothing it found already running), unless --keep.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runUp(ctx, cmd, f)
		},
	}
	cmd.Flags().BoolVar(&f.keep, "keep", false, "leave the sandbox running on exit")
	cmd.Flags().StringVar(&f.pgURL, "pg-url", "", "attach to an existing Postgres instead of running one")
	return cmd
}

func runUp(ctx context.Context, cmd *cobra.Command, f upFlags) error {
	errw := cmd.ErrOrStderr()
	overrides := map[string]string{}
	changed(cmd, overrides, "pg-url", "postgres.url")
	cfg, err := loadConfig(cmd, overrides)
	if err != nil {
		return err
	}
	before, _ := sandbox.Status(ctx, ".")
	wasRunning := before != nil && before.Postgres.Running
	opts := sandboxOptions(cmd, cfg)
	opts.Executable = "" // up serves the endpoint in-process (below)
	st, err := sandbox.Up(ctx, opts)
	if err != nil {
		return err
	}
	stopAbly, err := upAbly(ctx, st, cfg, errw)
	if err != nil {
		return err
	}
	defer stopAbly()
	if err := printState(cmd, st, false); err != nil {
		return err
	}
	fmt.Fprintln(errw, "sandbox is up; press Ctrl-C to stop")
	<-ctx.Done()
	stopAbly()
	if f.keep || wasRunning || st.Postgres.Backend == "external" {
		fmt.Fprintln(errw, "leaving the sandbox running")
		return nil
	}
	dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = sandbox.Down(dctx, sandbox.DownOptions{Dir: st.Dir(), Progress: errw})
	return err
}
