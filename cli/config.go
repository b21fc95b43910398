package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
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

// names returns the LiveSync table names from the configuration.
func names(cfg *config.Config) schema.Names {
	return schema.Names{
		OutboxSchema: cfg.Postgres.OutboxTableSchema, OutboxTable: cfg.Postgres.OutboxTableName,
		NodesSchema: cfg.Postgres.NodesTableSchema, NodesTable: cfg.Postgres.NodesTableName,
	}
}
