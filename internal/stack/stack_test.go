package stack_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/internal/stack"
)

// writeSandbox writes a sandbox.json with a database and a local endpoint.
func writeSandbox(t *testing.T, dir string) {
	t.Helper()
	state := `{"version":1,"postgres":{"url":"postgres://u@127.0.0.1:5/sandbox?sslmode=disable","backend":"native","running":true},
"ably":{"host":"127.0.0.1","port":7,"tls":false,"key":"app.k:s","local":true,"running":true},"mongo":{"available":false}}`
	if err := os.MkdirAll(filepath.Join(dir, ".livesync"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".livesync", "sandbox.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sandboxWithConfig is a folder with a sandbox.json and a livesync.yaml
// holding yaml.
func sandboxWithConfig(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	writeSandbox(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "livesync.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadResolvesDatabaseNamesAndEndpoint(t *testing.T) {
	dir := sandboxWithConfig(t, "postgres:\n  outboxTableName: app_outbox\n  nodesTableName: app_nodes\n")
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := stack.Load(stack.Params{ConfigFile: filepath.Join(dir, "livesync.yaml"), Env: []string{}, Dir: sub})
	if err != nil {
		t.Fatal(err)
	}
	if url, err := s.PostgresURL(); err != nil || !strings.Contains(url, "/sandbox") || s.External() {
		t.Fatalf("url %q (%v) external %v: want the sandbox's database", url, err, s.External())
	}
	if n := s.Names(); n.Outbox() != `"public"."app_outbox"` || n.Nodes() != `"public"."app_nodes"` {
		t.Fatalf("names %s %s", n.Outbox(), n.Nodes())
	}
	if s.StateDir() != filepath.Join(dir, ".livesync") {
		t.Fatalf("state dir %q", s.StateDir())
	}
	ep, err := s.Endpoint(stack.EndpointParams{})
	if err != nil || ep.Real || ep.Key != "app.k:s" || ep.Local.Port != 7 {
		t.Fatalf("endpoint %+v (%v): want the sandbox's local endpoint", ep, err)
	}
	opts, err := s.ConnectorOptions(ep)
	if err != nil || opts.Names.OutboxTable != "app_outbox" || opts.StateDir == "" || opts.DatabaseURL == "" {
		t.Fatalf("connector options %+v (%v)", opts, err)
	}
	mopts := s.MonitorOptions(false, nil)
	if mopts.Names.NodesTable != "app_nodes" || mopts.SafetyPoll == 0 {
		t.Fatalf("monitor options %+v", mopts)
	}

	// An environment URL wins over the sandbox: an external database, no
	// registry of ours.
	ext, err := stack.Load(stack.Params{Env: []string{"LIVESYNC_POSTGRES_URL=postgres://x@10.0.0.1/app"}, Dir: sub})
	if err != nil {
		t.Fatal(err)
	}
	if url, _ := ext.PostgresURL(); url != "postgres://x@10.0.0.1/app" || !ext.External() || ext.StateDir() != "" || ext.Registry() != nil {
		t.Fatalf("url %q external %v: want the environment's database, external", url, ext.External())
	}
	if _, err := ext.Endpoint(stack.EndpointParams{Host: "127.0.0.1"}); !errors.As(err, new(*stack.UsageError)) {
		t.Fatalf("--ably-host without --ably-port: %v", err)
	}
}

func TestLoadWithoutSandbox(t *testing.T) {
	s, err := stack.Load(stack.Params{Env: []string{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PostgresURL(); !errors.Is(err, stack.ErrNoDatabase) {
		t.Fatalf("no database: %v", err)
	}
	if _, err := s.Endpoint(stack.EndpointParams{}); !errors.Is(err, stack.ErrNoEndpoint) {
		t.Fatalf("no endpoint: %v", err)
	}
	real, err := stack.Load(stack.Params{Env: []string{"ABLY_API_KEY=a.b:c"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if ep, err := real.Endpoint(stack.EndpointParams{}); err != nil || !ep.Real || ep.Key != "a.b:c" {
		t.Fatalf("real Ably: %+v %v", ep, err)
	}
}

func TestLoadRefusesABadFileByLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "livesync.yaml")
	if err := os.WriteFile(file, []byte("connector:\n  batchSize: -3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := stack.Load(stack.Params{ConfigFile: file, Env: []string{}, Dir: dir})
	var ce *stack.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "livesync.yaml:2") {
		t.Fatalf("error %v: want a ConfigError naming line 2", err)
	}
}

// TestLocalAblyConnectionStateTTL: ably.local.connectionStateTTL (file or
// env) reaches the endpoint's options; Ably's 2m is the default.
func TestLocalAblyConnectionStateTTL(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "livesync.yaml") // not found from dir
	if err := os.WriteFile(file, []byte("ably:\n  local:\n    connectionStateTTL: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		env  []string
		want time.Duration
	}{
		{"", []string{}, 2 * time.Minute},
		{file, []string{}, 5 * time.Second},
		{file, []string{"LIVESYNC_ABLY_LOCAL_CONNECTION_STATE_TTL=30s"}, 30 * time.Second},
	} {
		s, err := stack.Load(stack.Params{ConfigFile: c.file, Env: c.env, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.LocalAblyOptions().ConnectionStateTTL; got != c.want {
			t.Errorf("file %q env %v: connectionStateTTL %v, want %v", c.file, c.env, got, c.want)
		}
	}
}

// TestConnectorTuningCarriesTheFencingAndCommitKeys: the connector keys
// that change its guarantees reach the node options as configured (a key
// dropped on the way would silently run the default).
func TestConnectorTuningCarriesTheFencingAndCommitKeys(t *testing.T) {
	const yaml = "connector:\n  synchronousCommit: true\n  lazyFence: true\n  fenceAhead: 7\n"
	dir := sandboxWithConfig(t, yaml)
	s, err := stack.Load(stack.Params{ConfigFile: filepath.Join(dir, "livesync.yaml"), Env: []string{}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.ConnectorTuning(); !o.SynchronousCommit || !o.LazyFence || o.FenceAhead != 7 {
		t.Errorf("tuning from %q: SynchronousCommit %v, LazyFence %v, FenceAhead %d", yaml, o.SynchronousCommit, o.LazyFence, o.FenceAhead)
	}
	s, err = stack.Load(stack.Params{Env: []string{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.ConnectorTuning(); o.SynchronousCommit {
		t.Error("synchronousCommit defaults to true; the documented default is false")
	}
}
