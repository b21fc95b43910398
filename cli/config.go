package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/ablylocal"
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

// configFileFlag is the --config value ("" when not given).
func configFileFlag(cmd *cobra.Command) string {
	file, _ := cmd.Flags().GetString(configFlag)
	return file
}

// loadConfig loads the configuration for cmd with flag overrides given as
// key paths (only flags the user set should be passed). Configuration errors
// are bad input: exit status 2.
func loadConfig(cmd *cobra.Command, overrides map[string]string) (*config.Config, error) {
	cfg, err := config.Load(config.Source{File: configFileFlag(cmd), Env: os.Environ(), Flags: overrides})
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

// sandboxOptions maps the configuration (read from configFile, "" for the
// default) onto sandbox options shared by `sandbox up` and `up`.
func sandboxOptions(configFile string, progress io.Writer, cfg *config.Config) sandbox.Options {
	opts := sandbox.Options{
		Dir: ".", PgURL: cfg.Postgres.URL, NoIndexes: !cfg.Sandbox.Indexes, Names: names(cfg),
		Backend: cfg.Sandbox.Backend, PostgresPort: cfg.Sandbox.PostgresPort,
		PostgresVersion: cfg.Sandbox.PostgresVersion, EmbeddedRepository: cfg.Sandbox.EmbeddedRepository,
		Executable: selfExecutable(), AblyAddr: cfg.Ably.Local.Addr, Progress: progress,
		Mongo: sandbox.MongoOptions{URL: cfg.Mongo.URL, Database: cfg.Mongo.Database, Collection: cfg.Mongo.Collection,
			PrePostImages: cfg.Mongo.FullDocument == "whenAvailable" || cfg.Mongo.FullDocumentBeforeChange == "whenAvailable",
			Disabled:      cfg.Sandbox.Mongo == "off"},
	}
	if configFile != "" {
		// The background endpoint reads ably.local from the same file.
		if abs, err := filepath.Abs(configFile); err == nil {
			opts.AblyArgs = []string{"--" + configFlag, abs}
		}
	}
	if cfg.Ably.Key != "" {
		opts.AblyKey = cfg.Ably.Key
		opts.AblyKeySource = cfg.Origin("ably.key")
	}
	return opts
}

// localAblyOptions maps the ably.local section onto the endpoint's options,
// for `ably serve` (also the endpoint `sandbox up` runs in the background,
// which reads the same livesync.yaml) and the one `up` serves in-process.
func localAblyOptions(cfg *config.Config) ablylocal.Options {
	l := cfg.Ably.Local
	return ablylocal.Options{
		Addr: l.Addr, DedupeWindow: l.DedupeWindow, HistoryLimit: l.HistoryLimit,
		HistoryTTL: l.HistoryTTL, Limits: l.Limits, MaxIdleInterval: l.MaxIdleInterval,
	}
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
