package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/schema"
)

// scenario is a sandbox folder for one stuck-row scenario: a real
// Postgres database, a real local Ably endpoint recorded in sandbox.json,
// and real connector nodes started with `connector run` in this process.
// Every check reads `status --json`, as a user would.
type scenario struct {
	t     *testing.T
	db    *pgtest.DB
	srv   *ablylocal.Server
	dir   string
	names schema.Names
	admin *pgx.Conn
	opts  ablylocal.Options
}

// scenarioOptions shape a scenario.
type scenarioOptions struct {
	// names are custom table names (provisioned, and written to
	// livesync.yaml); zero for the defaults.
	names schema.Names
	// endpoint configures the local endpoint (keys, limits).
	endpoint ablylocal.Options
	// yaml is extra livesync.yaml text.
	yaml string
}

// newScenario provisions the database, starts the endpoint, writes
// .livesync/sandbox.json (and livesync.yaml) and changes into the folder.
func newScenario(t *testing.T, o scenarioOptions) *scenario {
	t.Helper()
	s := &scenario{t: t, names: o.names.WithDefaults(), opts: o.endpoint}
	if o.names == (schema.Names{}) {
		s.db = pgtest.NewDB(t)
	} else {
		s.db = pgtest.NewEmptyDB(t)
		conn := s.db.Admin(t)
		if err := schema.Provision(context.Background(), conn, schema.ProvisionParams{Names: o.names}); err != nil {
			t.Fatal(err)
		}
	}
	s.admin = s.db.Admin(t)
	s.startEndpoint()
	s.dir = t.TempDir()
	t.Chdir(s.dir)
	s.writeState()
	yaml := o.yaml
	if o.names != (schema.Names{}) {
		yaml += "postgres:\n  outboxTableName: " + o.names.OutboxTable + "\n  nodesTableName: " + o.names.NodesTable + "\n"
	}
	if yaml != "" {
		if err := os.WriteFile(filepath.Join(s.dir, "livesync.yaml"), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startEndpoint starts the local endpoint (again on the same address and
// keys after stopEndpoint).
func (s *scenario) startEndpoint() {
	s.t.Helper()
	srv, err := ablylocal.Start(context.Background(), s.opts)
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv = srv
	s.opts.Addr, s.opts.Keys = srv.Addr(), srv.Keys()
	s.t.Cleanup(func() { srv.Close() })
}

// stopEndpoint stops the local endpoint.
func (s *scenario) stopEndpoint() { s.srv.Close() }

// key is the endpoint's first key.
func (s *scenario) key() auth.Key { return s.srv.Keys()[0] }

func (s *scenario) writeState() {
	state := map[string]any{"version": 1,
		"postgres": map[string]any{"url": s.db.URL, "backend": "external", "running": true},
		"ably":     map[string]any{"host": s.srv.Host(), "port": s.srv.Port(), "tls": false, "key": s.key().String(), "local": true, "running": true},
		"mongo":    map[string]any{"available": false}}
	b, _ := json.Marshal(state)
	if err := os.MkdirAll(filepath.Join(s.dir, ".livesync"), 0o700); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, ".livesync", "sandbox.json"), b, 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// connector runs `connector run` with args until the test ends or the
// returned function is called; it waits until a node is registered.
func (s *scenario) connector(args ...string) (stop func()) {
	s.t.Helper()
	stderr := &syncBuffer{}
	root := NewRootCommand(&syncBuffer{}, stderr)
	root.SetArgs(append([]string{"connector", "run", "--health-addr", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			s.t.Errorf("connector run did not stop\n%s", stderr)
		}
	}
	s.t.Cleanup(stop)
	s.await("a connector node registered", 30*time.Second, func() bool {
		select {
		case err := <-done:
			s.t.Fatalf("connector run ended: %v\n%s", err, stderr)
		default:
		}
		files, _ := filepath.Glob(filepath.Join(s.dir, ".livesync", "nodes", "*.json"))
		return len(files) > 0 && s.count("SELECT count(*) FROM "+s.names.Nodes()) > 0
	})
	return stop
}

// await polls cond until it holds or the deadline passes (no event tells
// when a row has gone out or a snapshot changed).
func (s *scenario) await(what string, within time.Duration, cond func() bool) time.Duration {
	s.t.Helper()
	start := time.Now()
	for deadline := start.Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not within %s\nstatus:\n%s", what, within, s.statusText())
		}
	}
	return time.Since(start)
}

// exec runs SQL as the superuser.
func (s *scenario) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.admin.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

// count runs a count query.
func (s *scenario) count(sql string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.admin.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// insert runs `insert` and returns the new ids.
func (s *scenario) insert(args ...string) []int64 {
	s.t.Helper()
	out, stderr, code := runCLI(s.t, append([]string{"insert", "--json", "--name", "e"}, args...)...)
	if code != 0 {
		s.t.Fatalf("insert %v: exit %d: %s", args, code, stderr)
	}
	var doc struct{ SequenceIDs []int64 }
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		s.t.Fatalf("insert output %q: %v", out, err)
	}
	return doc.SequenceIDs
}

// pending reports whether row id is still unprocessed.
func (s *scenario) pending(id int64) bool {
	return s.count("SELECT count(*) FROM "+s.names.Outbox()+" WHERE sequence_id = $1 AND NOT processed", id) == 1
}

// awaitFlowed waits until the rows are published (deleted or processed).
func (s *scenario) awaitFlowed(what string, within time.Duration, ids ...int64) time.Duration {
	s.t.Helper()
	return s.await(what, within, func() bool {
		for _, id := range ids {
			if s.pending(id) {
				return false
			}
		}
		return true
	})
}

// scenarioStatus is the part of `status --json` the scenarios read.
type scenarioStatus struct {
	Outbox struct {
		Pending   int64
		Estimated bool
	}
	Stuck []struct {
		SequenceID          int64
		Channel             string
		Reason              string
		Detail              string
		Action              string
		FixSQL              string
		ErrorCode           int
		Attempts            int
		NextRetry           *time.Time
		LockLapsesInSeconds *float64
		Holder              *struct {
			PID             int
			ApplicationName string
		}
	}
	Trigger struct {
		Present bool
		Fix     string
	}
	Connectors []struct {
		Node     string
		Channels []struct {
			Channel    string
			BlockedRow int64
			LastError  *struct {
				Code int
				Time string
			}
		}
	}
	Notes []string
}

// status runs `status --json`.
func (s *scenario) status() scenarioStatus {
	s.t.Helper()
	out, stderr, code := runCLI(s.t, "status", "--json")
	if code != 0 {
		s.t.Fatalf("status --json: exit %d: %s", code, stderr)
	}
	var st scenarioStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		s.t.Fatalf("status --json is not one document: %v\n%s", err, out)
	}
	return st
}

func (s *scenario) statusText() string {
	out, stderr, _ := runCLI(s.t, "status")
	return out + stderr
}

// awaitReason waits until `status --json` reports row id with reason and
// returns that entry's index in the status.
func (s *scenario) awaitReason(id int64, reason string, within time.Duration) (scenarioStatus, int, time.Duration) {
	s.t.Helper()
	var st scenarioStatus
	idx := -1
	took := s.await("row reported "+reason, within, func() bool {
		st = s.status()
		for i, x := range st.Stuck {
			if x.SequenceID == id && x.Reason == reason {
				idx = i
				return true
			}
		}
		return false
	})
	return st, idx, took
}

// mustContain fails unless text contains every part.
func mustContain(t *testing.T, what, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("%s %q lacks %q", what, text, p)
		}
	}
}

// lastErrorTime is when the connector last failed to publish row id as the
// blocking row of its channel ("" when it does not report one).
func (s *scenario) lastErrorTime(id int64) string {
	for _, c := range s.status().Connectors {
		for _, ch := range c.Channels {
			if ch.BlockedRow == id && ch.LastError != nil {
				return ch.LastError.Time
			}
		}
	}
	return ""
}
