package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// syncBuffer is a goroutine-safe stderr for a running command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestConnectorRunPublishesAndStopsCleanly runs `connector run --nodes 2`
// against a database and a local endpoint given by flags, sees a row
// arrive at a real subscriber, then cancels (as Ctrl-C) and checks the
// nodes deleted their rows.
func TestConnectorRunPublishesAndStopsCleanly(t *testing.T) {
	db := pgtest.NewDB(t)
	srv, err := ablylocal.Start(context.Background(), ablylocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	key := srv.Keys()[0].String()
	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(srv.Addr(), key), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	got := make(chan *ably.Message, 10)
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := ablylog.AwaitConnected(sctx, rt); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Channels.Get("cli").SubscribeAll(sctx, func(m *ably.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}

	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	root := NewRootCommand(&stdout, stderr)
	root.SetArgs([]string{"connector", "run", "--nodes", "2", "--health-addr", "127.0.0.1:0", "--pg-url", db.URL,
		"--ably-host", srv.Host(), "--ably-port", itoaInt(srv.Port()), "--ably-key", key})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	admin := db.Admin(t)
	if _, err := admin.Exec(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m', 'cli', 'n', '{"k":1}')`); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.ID != "1" || m.Name != "n" || m.Data != `{"k": 1}` {
			t.Errorf("message %+v", m)
		}
	case err := <-done:
		t.Fatalf("command ended early: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no message within 30s\n%s", stderr)
	}
	// Node 1 may publish before node 2 has registered: wait for both.
	var nodes int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM nodes`).Scan(&nodes); err == nil && nodes == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes table: %d rows, want 2\n%s", nodes, stderr)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("connector run: %v\n%s", err, stderr)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("connector run did not stop")
	}
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM nodes`).Scan(&nodes); err != nil || nodes != 0 {
		t.Errorf("after stop the nodes table has %d rows (%v)", nodes, err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout not empty: %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "connector: stopped") {
		t.Errorf("stderr lacks the stop line:\n%s", stderr)
	}
}

// TestConnectorRunFindsSandbox: without flags the command takes the
// database and the local endpoint from .livesync/sandbox.json and registers
// each node's health address in .livesync/nodes/<id>.json while it runs.
func TestConnectorRunFindsSandbox(t *testing.T) {
	db := pgtest.NewDB(t)
	srv, err := ablylocal.Start(context.Background(), ablylocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	state := map[string]any{"version": 1,
		"postgres": map[string]any{"url": db.URL, "backend": "external", "running": true},
		"ably":     map[string]any{"host": srv.Host(), "port": srv.Port(), "tls": false, "key": srv.Keys()[0].String(), "local": true, "running": true},
		"mongo":    map[string]any{"available": false}}
	b, _ := json.Marshal(state)
	if err := os.MkdirAll(filepath.Join(dir, ".livesync"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".livesync", "sandbox.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	root := NewRootCommand(&bytes.Buffer{}, stderr)
	root.SetArgs([]string{"connector", "run", "--health-addr", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	admin := db.Admin(t)
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := admin.QueryRow(context.Background(), `SELECT id FROM nodes`).Scan(&id); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node registered\n%s", stderr)
		}
		select {
		case err := <-done:
			t.Fatalf("command ended: %v\n%s", err, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// the node row can be committed a moment before the registration
	// file is written
	reg := filepath.Join(dir, ".livesync", "nodes", id+".json")
	var r struct{ ID, HealthAddr string }
	for {
		b, err := os.ReadFile(reg)
		if err == nil && json.Unmarshal(b, &r) == nil && r.ID == id && r.HealthAddr != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration %s: %s (%v)", reg, b, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("connector run: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("registration file left behind: %v", err)
	}
}

// TestConnectorRunUsage: bad flags exit 2, a missing endpoint exits 1.
func TestConnectorRunUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("ABLY_API_KEY", "")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"connector", "run", "--nodes", "0"}, 2, "--nodes"},
		{[]string{"connector", "run", "--pg-url", "postgres://u@127.0.0.1/db", "--ably-host", "127.0.0.1"}, 2, "--ably-port"},
		{[]string{"connector", "run"}, 1, "no sandbox"},
		{[]string{"connector", "run", "--pg-url", "postgres://u@127.0.0.1/db"}, 1, "ABLY_API_KEY"},
		{[]string{"connector"}, 2, "subcommand"},
	} {
		var out, errb bytes.Buffer
		root := NewRootCommand(&out, &errb)
		root.SetArgs(c.args)
		err := root.Execute()
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want exit %d mentioning %q", c.args, err, c.code, c.want)
		}
	}
}

func itoaInt(i int) string { return strconv.Itoa(i) }

// TestConnectorRefusesForeignLiveNodes: on a database given with --pg-url
// whose nodes table holds live nodes that are not ours, our connector would
// claim and delete their rows: it refuses unless --force.
func TestConnectorRefusesForeignLiveNodes(t *testing.T) {
	db := pgtest.NewDB(t)
	db.Exec(t, `INSERT INTO nodes (id, expiry) VALUES ('their-node', (now() AT TIME ZONE 'utc') + interval '1 minute')`)
	_, stderr, code := runCLI(t, "connector", "run", "--pg-url", db.URL, "--ably-host", "127.0.0.1", "--ably-port", "1", "--ably-key", "a.b:c", "--health-addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "1 live node(s) that are not ours") || !strings.Contains(stderr, "--force") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming the live node and --force", code, stderr)
	}
	var n int
	if err := db.Admin(t).QueryRow(context.Background(), `SELECT count(*) FROM nodes`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("nodes table changed: %d rows (%v)", n, err)
	}
}
