package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

func init() { commands = append(commands, newSandboxCommand) }

func newSandboxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Bring the local Postgres (and endpoint) up or down, or show its status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("sandbox needs a subcommand: up, down or status")
		},
	}
	cmd.AddCommand(newSandboxUpCommand(), newSandboxDownCommand(), newSandboxStatusCommand())
	return cmd
}

// sandboxFlags are the flags that choose and provision the database.
type sandboxFlags struct {
	jsonOut   bool
	pgURL     string
	provision bool
	noIndexes bool
	backend   string
	pgPort    int
	ablyKey   string
	mongoURL  string
	stk       *stack.Stack // loaded by options
}

func (f *sandboxFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the sandbox state as one JSON document on stdout")
	cmd.Flags().StringVar(&f.pgURL, "pg-url", "", "attach to an existing Postgres instead of running one")
	cmd.Flags().BoolVar(&f.provision, "provision", false, "with --pg-url: create the LiveSync tables, trigger and grants there")
	cmd.Flags().BoolVar(&f.noIndexes, "no-indexes", false, "leave out the recommended partial indexes (a bare production schema)")
	cmd.Flags().StringVar(&f.backend, "backend", "auto", "Postgres backend: auto, external, compose, native or embedded")
	cmd.Flags().IntVar(&f.pgPort, "pg-port", 0, "fixed Postgres port on 127.0.0.1 (0: a free port)")
	cmd.Flags().StringVar(&f.mongoURL, "mongo-url", "", "use this MongoDB replica set instead of compose or a native mongod (not provisioned)")
	cmd.Flags().StringVar(&f.ablyKey, "ably-key", "", "publish to real Ably with this key (or set ABLY_API_KEY) instead of the local endpoint; never written to disk")
}

func (f *sandboxFlags) options(cmd *cobra.Command) (sandbox.Options, error) {
	if f.provision && f.pgURL == "" {
		return sandbox.Options{}, usageError("--provision needs --pg-url: the sandbox's own database is always provisioned")
	}
	overrides := map[string]string{}
	changed(cmd, overrides, "pg-url", "postgres.url")
	changed(cmd, overrides, "backend", "sandbox.backend")
	changed(cmd, overrides, "pg-port", "sandbox.postgresPort")
	changed(cmd, overrides, "ably-key", "ably.key")
	changed(cmd, overrides, "mongo-url", "mongo.url")
	if f.noIndexes {
		overrides["sandbox.indexes"] = "false"
	}
	st, err := loadStack(cmd, overrides)
	if err != nil {
		return sandbox.Options{}, err
	}
	if st.Config.Sandbox.Backend == "external" && st.Config.Postgres.URL == "" {
		return sandbox.Options{}, usageError("the external backend needs a database: pass --pg-url or set postgres.url")
	}
	opts := st.SandboxOptions(cmd.ErrOrStderr())
	opts.Provision = f.provision
	f.stk = st
	return opts, nil
}

func newSandboxUpCommand() *cobra.Command {
	var f sandboxFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start (or find healthy) the sandbox Postgres, provisioned as LiveSync requires",
		Long: "Start the sandbox's Postgres, or find it already healthy, and provision the LiveSync schema.\n" +
			"The first backend that works is used: --pg-url, docker compose, native binaries, embedded.\n" +
			"It never starts a connector.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := sandbox.Up(ctx, opts)
			if err != nil {
				return err
			}
			applyConfigFaults(ctx, cmd, f.stk, st)
			return printState(cmd, st, f.jsonOut)
		},
	}
	f.register(cmd)
	return cmd
}

func newSandboxDownCommand() *cobra.Command {
	var purge bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop everything the sandbox started; --purge also deletes its data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := sandbox.Down(cmd.Context(), sandbox.DownOptions{Dir: ".", Purge: purge, Progress: cmd.ErrOrStderr()})
			return err
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete the sandbox's data and state")
	return cmd
}

func newSandboxStatusCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the sandbox, checking liveness by connecting",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sandbox.Status(cmd.Context(), ".")
			if err != nil {
				if errors.Is(err, sandbox.ErrNotFound) {
					return &ExitError{Code: 1, Err: err}
				}
				return err
			}
			return printState(cmd, st, jsonOut)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the sandbox state as one JSON document on stdout")
	return cmd
}

// printState prints the contract JSON, or a short human summary.
func printState(cmd *cobra.Command, st *sandbox.State, jsonOut bool) error {
	out := cmd.OutOrStdout()
	if jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	state := func(b bool) string {
		if b {
			return "running"
		}
		return "stopped"
	}
	fmt.Fprintf(out, "postgres  %s (%s)\n          %s\n", state(st.Postgres.Running), st.Postgres.Backend, st.Postgres.URL)
	if st.Ably != nil {
		fmt.Fprintf(out, "ably      %s at %s:%d\n", state(st.Ably.Running), st.Ably.Host, st.Ably.Port)
		defer printClientOptions(out, st.Ably)
	} else {
		fmt.Fprintf(out, "ably      none recorded\n")
	}
	if st.Mongo.Available {
		fmt.Fprintf(out, "mongo     %s (%s)\n", st.Mongo.URL, st.Mongo.Backend)
	} else {
		fmt.Fprintf(out, "mongo     unavailable: %s\n", st.Mongo.Reason)
	}
	return nil
}
