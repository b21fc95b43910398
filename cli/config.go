package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/sandbox"
	"github.com/livesync-dev/livesync-dev/schema"
)

func init() {
	extraReference = append(extraReference, func(w io.Writer) {
		fmt.Fprint(w, "### Configuration keys\n\n"+
			"Precedence: built-in defaults < `livesync.yaml` (the current folder, `--config FILE` or `$LIVESYNC_CONFIG`)\n"+
			"< `LIVESYNC_*` environment variables < flags. Durations take a unit (`100ms`, `1s`, `2m`) and must be at\n"+
			"least 100ms; `connector.lockTTL + connector.safetyPoll + connector.retry.max` must stay under 120s (Ably's\n"+
			"dedupe window). `livesync-dev init` writes a commented file with every default.\n\n")
		_ = config.WriteReference(w)
		fmt.Fprintln(w)
	})
}

// configFlag is the root's persistent --config flag value.
const configFlag = "config"

// addConfigFlag registers the root's --config flag.
func addConfigFlag(root *cobra.Command) {
	root.PersistentFlags().String(configFlag, "", "configuration file (default: ./livesync.yaml when present, or $LIVESYNC_CONFIG)")
}

// loadConfig loads the configuration for cmd with flag overrides given as
// key paths (only flags the user set should be passed). Configuration errors
// are bad input: exit status 2.
func loadConfig(cmd *cobra.Command, overrides map[string]string) (*config.Config, error) {
	file, _ := cmd.Flags().GetString(configFlag)
	cfg, err := config.Load(config.Source{File: file, Env: os.Environ(), Flags: overrides})
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return cfg, nil
}

// changed adds key=value to m when the named flag was set on the command
// line.
func changed(cmd *cobra.Command, m map[string]string, flag, key string) {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		m[key] = f.Value.String()
	}
}

// sandboxOptions maps the configuration onto sandbox options shared by
// `sandbox up` and `up`.
func sandboxOptions(progress io.Writer, cfg *config.Config) sandbox.Options {
	opts := sandbox.Options{
		Dir: ".", PgURL: cfg.Postgres.URL, NoIndexes: !cfg.Sandbox.Indexes, Names: names(cfg),
		Backend: cfg.Sandbox.Backend, PostgresPort: cfg.Sandbox.PostgresPort,
		PostgresVersion: cfg.Sandbox.PostgresVersion, EmbeddedRepository: cfg.Sandbox.EmbeddedRepository,
		Executable: selfExecutable(), AblyAddr: cfg.Ably.Local.Addr, Progress: progress,
	}
	if cfg.Ably.Key != "" {
		opts.AblyKey = cfg.Ably.Key
		opts.AblyKeySource = cfg.Origin("ably.key")
	}
	if cfg.Ably.Local.Limits != "" {
		opts.AblyArgs = append(opts.AblyArgs, "--limits", cfg.Ably.Local.Limits)
	}
	return opts
}

// selfExecutable is this livesync-dev binary, which runs the background
// endpoint; under `go test` the executable is a test binary, so none.
func selfExecutable() string {
	exe, err := os.Executable()
	if err != nil || strings.HasSuffix(exe, ".test") {
		return ""
	}
	return exe
}

// names returns the LiveSync table names from the configuration.
func names(cfg *config.Config) schema.Names {
	return schema.Names{
		OutboxSchema: cfg.Postgres.OutboxTableSchema, OutboxTable: cfg.Postgres.OutboxTableName,
		NodesSchema: cfg.Postgres.NodesTableSchema, NodesTable: cfg.Postgres.NodesTableName,
	}
}
