package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/internal/ablylog"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// EndpointParams are explicit endpoint flags (`connector run --ably-*`,
// `tail --ably-key`); the zero value takes everything from the sandbox and
// the configuration.
type EndpointParams struct {
	// Host and Port name an Ably-compatible endpoint; Host "" means none.
	Host string
	Port int
	// TLS is whether that endpoint speaks TLS.
	TLS bool
	// Key is an explicit API key ("" = the sandbox's local key, else
	// ably.key / ABLY_API_KEY for real Ably).
	Key string
}

// Endpoint is where Ably clients connect.
type Endpoint struct {
	// Options are the ably-go client options.
	Options []ably.ClientOption
	// Real is true for real Ably (pace publishes to its limits).
	Real bool
	// Local describes the local endpoint (nil for real Ably).
	Local *sandbox.AblyState
	// Key is the key the options carry.
	Key string
}

// ErrNoEndpoint is returned when no Ably endpoint can be found.
var ErrNoEndpoint = errors.New("no Ably endpoint: sandbox.json records none; start one with `livesync-dev sandbox up` (or `livesync-dev up`), pass --ably-host/--ably-port/--ably-key, or set ABLY_API_KEY for real Ably")

// Endpoint resolves the Ably endpoint: explicit flags, else the sandbox's
// local endpoint, else real Ably with ably.key (or ABLY_API_KEY).
func (s *Stack) Endpoint(p EndpointParams) (Endpoint, error) {
	var recorded *sandbox.AblyState
	if s.Sandbox != nil {
		recorded = s.Sandbox.Ably
	}
	switch {
	case p.Host != "":
		if p.Port <= 0 {
			return Endpoint{}, &UsageError{Err: errors.New("--ably-host needs --ably-port")}
		}
		key := p.Key
		if key == "" && recorded != nil {
			key = recorded.Key
		}
		if key == "" {
			return Endpoint{}, &UsageError{Err: errors.New("--ably-host needs --ably-key (no key recorded in sandbox.json)")}
		}
		a := &sandbox.AblyState{Host: p.Host, Port: p.Port, TLS: p.TLS, Local: true, Key: key}
		return Endpoint{Options: ClientOptions(a, key), Local: a, Key: key}, nil
	case recorded != nil && recorded.Local:
		key := p.Key
		if key == "" {
			key = recorded.Key
		}
		return Endpoint{Options: ClientOptions(recorded, key), Local: recorded, Key: key}, nil
	}
	key := p.Key
	if key == "" {
		key = s.Config.Ably.Key
	}
	if key == "" {
		return Endpoint{}, ErrNoEndpoint
	}
	return Endpoint{Options: []ably.ClientOption{ably.WithKey(key)}, Real: true, Key: key}, nil
}

// UsageError marks an error in the flags (exit status 2).
type UsageError struct{ Err error }

// Error implements error.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// LocalRetry is how long ably-go waits between reconnection attempts (and
// channel re-attaches) against the local endpoint. The SDK's defaults (15 s
// disconnected, 30 s suspended, 15 s channel) suit Ably's global service;
// on a laptop the endpoint restarts in a fraction of a second (`sandbox up`
// after a crash), and a 15 s wait looks like a hang. A refused local TCP
// connect costs microseconds, so retrying four times a second is cheap.
const LocalRetry = 250 * time.Millisecond

// LocalRetryOptions are the ably-go retry timeouts for the local endpoint
// (LocalRetry everywhere). Real Ably keeps the SDK's defaults.
func LocalRetryOptions() []ably.ClientOption {
	return []ably.ClientOption{ably.WithDisconnectedRetryTimeout(LocalRetry), ably.WithSuspendedRetryTimeout(LocalRetry),
		ably.WithChannelRetryTimeout(LocalRetry)}
}

// ClientOptions points ably-go at a recorded endpoint with key (the
// endpoint's own key when empty), retrying fast when it is local. Real Ably
// needs only the key and keeps the SDK's retry timeouts.
func ClientOptions(a *sandbox.AblyState, key string) []ably.ClientOption {
	if a == nil || !a.Local {
		return []ably.ClientOption{ably.WithKey(key)}
	}
	if key == "" {
		key = a.Key
	}
	opts := []ably.ClientOption{ably.WithEndpoint(a.Host), ably.WithPort(a.Port), ably.WithTLS(a.TLS), ably.WithKey(key)}
	opts = append(opts, LocalRetryOptions()...)
	if a.TLS {
		return append(opts, ably.WithTLSPort(a.Port))
	}
	return append(opts, ably.WithInsecureAllowBasicAuthWithoutTLS())
}

// ConnectorOptions are the connector's options: the connector section of
// the configuration, the table names, the database, the endpoint and the
// sandbox's node registry. The caller adds the event bus and the logger.
func (s *Stack) ConnectorOptions(ep Endpoint) (postgres.Options, error) {
	url, err := s.PostgresURL()
	if err != nil {
		return postgres.Options{}, err
	}
	opts := s.ConnectorTuning()
	opts.DatabaseURL, opts.Ably, opts.RealAbly, opts.StateDir = url, ep.Options, ep.Real, s.StateDir()
	return opts, nil
}

// ConnectorTuning maps the connector section onto connector options,
// without the database and the endpoint (what a hot reload may change).
func (s *Stack) ConnectorTuning() postgres.Options {
	c := s.Config.Connector
	return postgres.Options{
		Names:                    s.Names(),
		PollInterval:             c.PollInterval,
		PollFixedRate:            c.PollFixedRate,
		SafetyPoll:               c.SafetyPoll,
		Debounce:                 c.Debounce,
		HeartbeatTimeout:         c.HeartbeatTimeout,
		LockTTL:                  c.LockTTL,
		LazyFence:                c.LazyFence,
		FenceAhead:               fenceAhead(c.FenceAhead),
		SynchronousCommit:        c.SynchronousCommit,
		BatchSize:                c.BatchSize,
		RetryMin:                 c.Retry.Min,
		RetryMax:                 c.Retry.Max,
		CompletionFlush:          c.CompletionFlush,
		StatementTimeout:         c.StatementTimeout,
		LockTimeout:              c.LockTimeout,
		IdleInTransactionTimeout: c.IdleInTransactionTimeout,
		PermanentCodes:           append([]int(nil), c.PermanentCodes...),
		RetainProcessed:          c.RetainProcessed,
		PublishMode:              c.PublishMode,
		AblyConnections:          c.AblyConnections,
		HealthAddr:               c.HealthAddr,
		Nodes:                    c.Nodes,
		JournalSize:              journalSize(c.JournalSize),
	}
}

// journalSize maps connector.journalSize (0 = off) onto the node option
// (negative = off).
func journalSize(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// TailParams choose what a live tail subscribes to.
type TailParams struct {
	// Channels to subscribe at once (more can be added later).
	Channels []string
	// Rewind is a count ("10") or a span ("2m") of history on attach.
	Rewind string
	// Logger receives the SDK's log lines, keys and tokens redacted (nil:
	// the SDK logs nothing).
	Logger *slog.Logger
}

// StartTail subscribes to channels on the endpoint, buffering
// dashboard.tailBuffer messages.
func (s *Stack) StartTail(ctx context.Context, ep Endpoint, p TailParams) (*monitor.Tail, error) {
	opts := append(ablylog.ClientOptions(p.Logger), ep.Options...)
	return monitor.StartTail(ctx, monitor.TailOptions{ClientOptions: opts, Channels: p.Channels, Rewind: p.Rewind,
		Buffer: s.Config.Dashboard.TailBuffer})
}

// SandboxOptions maps the configuration onto the sandbox's options
// (`sandbox up` and `up`); progress receives progress lines.
func (s *Stack) SandboxOptions(progress io.Writer) sandbox.Options {
	cfg := s.Config
	opts := sandbox.Options{
		Dir: ".", PgURL: cfg.Postgres.URL, NoIndexes: !cfg.Sandbox.Indexes, Names: s.Names(),
		Backend: cfg.Sandbox.Backend, PostgresPort: cfg.Sandbox.PostgresPort,
		PostgresVersion: cfg.Sandbox.PostgresVersion, EmbeddedRepository: cfg.Sandbox.EmbeddedRepository,
		Executable: selfExecutable(), AblyAddr: cfg.Ably.Local.Addr, Progress: progress,
		Mongo: sandbox.MongoOptions{URL: cfg.Mongo.URL, Database: cfg.Mongo.Database, Collection: cfg.Mongo.Collection,
			PrePostImages: cfg.Mongo.FullDocument == "whenAvailable" || cfg.Mongo.FullDocumentBeforeChange == "whenAvailable",
			Disabled:      cfg.Sandbox.Mongo == "off"},
	}
	if s.ConfigFile != "" {
		// The background endpoint reads ably.local from the same file.
		if abs, err := filepath.Abs(s.ConfigFile); err == nil {
			opts.AblyArgs = []string{"--config", abs}
		}
	}
	if cfg.Ably.Key != "" {
		opts.AblyKey = cfg.Ably.Key
		opts.AblyKeySource = cfg.Origin("ably.key")
	}
	return opts
}

// Up brings the sandbox up (or finds it healthy) and adopts its state.
func (s *Stack) Up(ctx context.Context, opts sandbox.Options) (*sandbox.State, error) {
	st, err := sandbox.Up(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.Sandbox = st
	return st, nil
}

// LocalAblyOptions maps the ably.local section onto the endpoint's
// options, for `ably serve`, the endpoint `sandbox up` runs in the
// background (which reads the same livesync.yaml) and the one `up` serves
// in-process.
func (s *Stack) LocalAblyOptions() ablylocal.Options {
	l := s.Config.Ably.Local
	return ablylocal.Options{
		Addr: l.Addr, DedupeWindow: l.DedupeWindow, HistoryLimit: l.HistoryLimit,
		HistoryTTL: l.HistoryTTL, Limits: l.Limits, MaxIdleInterval: l.MaxIdleInterval,
		ConnectionStateTTL: l.ConnectionStateTTL, MaxQueuedBytes: l.MaxQueuedBytes,
		Faults: append([]fault.Rule(nil), l.Faults...),
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

// Describe is a one-line summary of where the stack points, for logs.
func (s *Stack) Describe() string {
	url, err := s.PostgresURL()
	if err != nil {
		return "no database"
	}
	return fmt.Sprintf("database %s, outbox %s, nodes %s", dbconn.Redact(url), s.Names().Outbox(), s.Names().Nodes())
}

// fenceAhead maps connector.fenceAhead (0 = no early checks) to
// postgres.Options.FenceAhead (0 = the default, negative = none).
func fenceAhead(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
