// Package stack is the one way livesync-dev builds what a command runs:
// it turns the configuration (livesync.yaml, LIVESYNC_* variables and
// flags) and the sandbox's state file (.livesync/sandbox.json) into the
// database pool, the monitor, the connector's options, the Ably endpoint
// and the live tail. Every command goes through it, so a setting such as
// postgres.outboxTableName means the same thing to all of them; the cli
// package only parses flags and prints.
package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
	"github.com/livesync-dev/livesync-dev/schema"
)

// Params say where the configuration comes from.
type Params struct {
	// ConfigFile is --config ("" = $LIVESYNC_CONFIG or ./livesync.yaml).
	ConfigFile string
	// Overrides are flag values by key path, only for flags the user set
	// (e.g. {"postgres.url": "..."}).
	Overrides map[string]string
	// Env is the environment (os.Environ() when nil).
	Env []string
	// Dir is where the sandbox is looked for (its .livesync folder, here
	// or in a parent); "" means the current directory.
	Dir string
}

// Stack is a loaded configuration and the sandbox it applies to.
type Stack struct {
	// Config is the validated configuration.
	Config *config.Config
	// Sandbox is the sandbox's state, nil when there is none.
	Sandbox *sandbox.State
	// ConfigFile is the --config value the stack was loaded with.
	ConfigFile string
	// damaged is set when .livesync/sandbox.json exists but cannot be read.
	damaged error
}

// ConfigError wraps a configuration that failed to load or validate: bad
// input, which every command refuses the same way (exit status 2), naming
// the file, line and key.
type ConfigError struct{ Err error }

// Error implements error.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the validation errors.
func (e *ConfigError) Unwrap() error { return e.Err }

// Load reads and validates the configuration and finds the sandbox. A
// configuration problem is a *ConfigError; a missing sandbox is not an
// error (Sandbox is nil).
func Load(p Params) (*Stack, error) {
	env := p.Env
	if env == nil {
		env = os.Environ()
	}
	cfg, err := config.Load(config.Source{File: p.ConfigFile, Env: env, Flags: p.Overrides})
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	dir := p.Dir
	if dir == "" {
		dir = "."
	}
	s := &Stack{Config: cfg, ConfigFile: p.ConfigFile}
	if st, err := sandbox.LoadFrom(dir); err == nil {
		s.Sandbox = st
	} else if errors.Is(err, sandbox.ErrDamaged) {
		s.damaged = err
	}
	return s, nil
}

// Names are the LiveSync table names from the configuration.
func (s *Stack) Names() schema.Names {
	c := s.Config.Postgres
	return schema.Names{
		OutboxSchema: c.OutboxTableSchema, OutboxTable: c.OutboxTableName,
		NodesSchema: c.NodesTableSchema, NodesTable: c.NodesTableName,
	}
}

// ErrNoDatabase is returned when neither postgres.url nor a sandbox names
// a database.
var ErrNoDatabase = errors.New("no database: no sandbox found here or in a parent folder and no postgres.url; run `livesync-dev sandbox up`, or pass --pg-url (or set LIVESYNC_POSTGRES_URL)")

// PostgresURL is the outbox database: postgres.url (flag, environment or
// file), else the sandbox's.
func (s *Stack) PostgresURL() (string, error) {
	if s.Config.Postgres.URL != "" {
		return s.Config.Postgres.URL, nil
	}
	if s.Sandbox != nil {
		return s.Sandbox.Postgres.URL, nil
	}
	if s.damaged != nil {
		return "", s.damaged
	}
	return "", ErrNoDatabase
}

// External reports whether the database is someone else's: postgres.url
// names a database that is not the sandbox's own.
func (s *Stack) External() bool {
	u := s.Config.Postgres.URL
	return u != "" && (s.Sandbox == nil || s.Sandbox.Postgres.URL != u)
}

// StateDir is the sandbox's .livesync folder, where connector nodes
// register; "" when there is no sandbox or the database is external.
func (s *Stack) StateDir() string {
	if s.Sandbox == nil || s.External() {
		return ""
	}
	return filepath.Join(s.Sandbox.Dir(), sandbox.DirName)
}

// Pool opens a connection pool to the outbox database; app names the
// connections in pg_stat_activity.
func (s *Stack) Pool(ctx context.Context, app string, size int32) (*pgxpool.Pool, error) {
	url, err := s.PostgresURL()
	if err != nil {
		return nil, err
	}
	return dbconn.Pool(ctx, url, app, size)
}

// Registry is the sandbox's connector node registry (.livesync/nodes),
// or nil when there is none.
func (s *Stack) Registry() *monitor.NodeRegistry {
	dir := s.StateDir()
	if dir == "" {
		return nil
	}
	return &monitor.NodeRegistry{Dir: filepath.Join(dir, "nodes")}
}

// MonitorOptions are the monitor's options from the configuration: table
// names, thresholds, the connector's timing, and (inside a sandbox) the
// registered nodes of ours and where to ask them for their state.
// inProcess adds nodes running in this process (`up`).
func (s *Stack) MonitorOptions(readonly bool, inProcess monitor.ConnectorStates, own ...string) monitor.Options {
	c := s.Config
	opts := monitor.Options{Names: s.Names(), ReadOnly: readonly || c.Dashboard.Readonly,
		StuckAfter: c.Dashboard.StuckThreshold, LockTTL: c.Connector.LockTTL, SafetyPoll: c.Connector.SafetyPoll,
		OwnNodes: append([]string(nil), own...)}
	var sources monitor.Connectors
	if inProcess != nil {
		sources = append(sources, inProcess)
	}
	if reg := s.Registry(); reg != nil {
		if ids := reg.NodeIDs(); len(ids) > 0 || inProcess != nil {
			opts.OwnNodes = append(opts.OwnNodes, ids...)
			sources = append(sources, *reg)
		}
	}
	if len(sources) > 0 {
		opts.Connector = sources
	}
	if s.Sandbox != nil && s.Sandbox.Ably != nil && s.Sandbox.Ably.Local {
		if fc, err := s.FaultClient(EndpointParams{}); err == nil {
			opts.Faults = fc
		}
	}
	return opts
}

// OpenMonitor connects to the database and returns a monitor over it and
// a function that closes the pool.
func (s *Stack) OpenMonitor(ctx context.Context, app string, readonly bool) (*monitor.Monitor, func(), error) {
	pool, err := s.Pool(ctx, app, 4)
	if err != nil {
		return nil, nil, err
	}
	return monitor.New(pool, s.MonitorOptions(readonly, nil)), pool.Close, nil
}

// RefuseForeignNodes keeps our connector off an outbox that live nodes of
// someone else serve: it would claim and delete their rows and publish
// them to the wrong place. It checks only external databases.
func (s *Stack) RefuseForeignNodes(ctx context.Context, m *monitor.Monitor) error {
	if !s.External() {
		return nil
	}
	ids, err := m.NodesLiveForeign(ctx)
	if err != nil {
		return fmt.Errorf("checking the nodes table for live connectors: %w", err)
	}
	if len(ids) > 0 {
		return fmt.Errorf("the nodes table holds %d live node(s) that are not ours: our connector would claim and delete their rows and publish them to our endpoint; stop those nodes, drop --connector, or pass --force", len(ids))
	}
	return nil
}
