package postgres

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestThreeNodesLeaveOneTombstone: three nodes drain concurrently and
// complete at the same time; exactly one processed row (the max) remains.
func TestThreeNodesLeaveOneTombstone(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	for i := 0; i < 3; i++ {
		startNode(t, opts)
	}
	for round := 0; round < 5; round++ {
		e.insertSpread(t, "t", 120, 30)
		waitFor(t, 30*time.Second, "round drained", func() bool {
			return e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed") == 0
		})
	}
	waitFor(t, 20*time.Second, "exactly one row left", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox") == 1
	})
	if got := e.count(t, "SELECT count(*) FROM outbox WHERE processed AND sequence_id = 600"); got != 1 {
		t.Fatalf("the remaining row is not row 600 with processed = true")
	}
}

// TestGracefulStopReleasesLocksAndDeletesNode: rows claimed while the
// endpoint is down are released on Stop; the node row and the registry
// file are gone.
func TestGracefulStopReleasesLocksAndDeletesNode(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.StateDir = t.TempDir()
	e.ably.Close()
	n, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(opts.StateDir, "nodes", n.ID()+".json")
	regs, err := ReadRegistrations(opts.StateDir)
	if err != nil || len(regs) != 1 || regs[0].ID != n.ID() || regs[0].HealthAddr != n.HealthAddr() {
		t.Fatalf("registrations %+v, %v", regs, err)
	}
	e.insertSpread(t, "g", 20, 4)
	waitFor(t, 10*time.Second, "rows locked by the node", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE locked_by = $1", n.ID()) == 20
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if got := e.count(t, "SELECT count(*) FROM outbox WHERE locked_by IS NOT NULL OR lock_expiry IS NOT NULL"); got != 0 {
		t.Errorf("%d rows still locked after a graceful stop", got)
	}
	if got := e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed"); got != 20 {
		t.Errorf("%d rows pending, want 20", got)
	}
	if got := e.count(t, "SELECT count(*) FROM nodes"); got != 0 {
		t.Errorf("node row not deleted")
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("registry file %s still there: %v", reg, err)
	}
}

// TestHealthMetricsDebugState reads the node's HTTP endpoints.
func TestHealthMetricsDebugState(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "h")
	n := startNode(t, e.options())
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'h', 'n', '1')`)
	s.waitCount(t, 1, 20*time.Second)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + n.HealthAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, 10*time.Second, "all health checks up", func() bool {
		code, _ := get("/health")
		return code == http.StatusOK
	})
	_, body := get("/health")
	var h map[string]map[string]string
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ably", "postgres", "nodes_table", "outbox_table"} {
		if h[k]["status"] != "up" {
			t.Errorf("/health %s = %v", k, h[k])
		}
	}
	// The subscriber can see the message before the publisher sees its ACK.
	waitFor(t, 10*time.Second, "publish latency observed", func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, "ably_publish_latency_seconds_count 1")
	})
	_, metrics := get("/metrics")
	for _, name := range []string{"ably_pending_acks", "nodes_table_entries", "outbox_table_entries", "nodes_table_errors",
		"outbox_table_errors", "ably_publish_latency_seconds_count 1", "promhttp_metric_handler_errors_total"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	_, state := get("/debug/state")
	var st connector.NodeState
	if err := json.Unmarshal([]byte(state), &st); err != nil || st.Node != n.ID() || st.Share != "0/1" {
		t.Errorf("/debug/state %s (%v)", state, err)
	}
	// Stop the database side's table: the outbox check goes down.
	e.exec(t, `ALTER TABLE outbox RENAME TO outbox_gone`)
	waitFor(t, 10*time.Second, "outbox_table down", func() bool {
		code, body := get("/health")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"outbox_table":{"status":"down"}`)
	})
	e.exec(t, `ALTER TABLE outbox_gone RENAME TO outbox`)
}

// TestInvalidOptionsRefused: bad values and combinations fail with a
// message naming the option.
func TestInvalidOptionsRefused(t *testing.T) {
	base := Options{DatabaseURL: "postgres://x@127.0.0.1/db"}
	if _, err := base.Validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"dedupe window", func(o *Options) { o.LockTTL = 60 * time.Second; o.RetryMax = 60 * time.Second }, "dedupe window"},
		{"batch", func(o *Options) { o.BatchSize = 1001 }, "batchSize"},
		{"retry order", func(o *Options) { o.RetryMin = time.Minute; o.RetryMax = time.Second }, "retry.min"},
		{"lock vs heartbeat", func(o *Options) { o.LockTTL = 2 * time.Second; o.HeartbeatTimeout = 30 * time.Second }, "heartbeat"},
		{"debounce", func(o *Options) { o.Debounce = "middle" }, "debounce"},
		{"mode", func(o *Options) { o.PublishMode = "rest" }, "publishMode"},
		{"url", func(o *Options) { o.DatabaseURL = "" }, "DatabaseURL"},
		{"negative", func(o *Options) { o.PollInterval = -time.Second }, "pollInterval"},
	}
	for _, c := range cases {
		o := base
		c.mod(&o)
		if _, err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if _, err := Start(context.Background(), o); err == nil {
			t.Errorf("%s: Start accepted invalid options", c.name)
		}
	}
}

// TestLeasesUseDatabaseUTCClock: on a server whose default time zone is not
// UTC, expiry and lock_expiry hold UTC from the database clock.
func TestLeasesUseDatabaseUTCClock(t *testing.T) {
	e := newEnv(t)
	e.ably.Close() // rows stay locked
	n := startNode(t, e.options())
	e.insertSpread(t, "z", 3, 1)
	waitFor(t, 10*time.Second, "rows locked", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE locked_by = $1", n.ID()) == 3
	})
	conn, err := pgx.Connect(context.Background(), e.db.AdminURL) // the server's default (non-UTC) zone
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tz string
	var nodeAhead, lockAhead float64
	if err := conn.QueryRow(context.Background(), `SELECT current_setting('TimeZone'),
  (SELECT extract(epoch FROM expiry - (now() AT TIME ZONE 'utc')) FROM nodes WHERE id = $1),
  (SELECT max(extract(epoch FROM lock_expiry - (now() AT TIME ZONE 'utc'))) FROM outbox)`, n.ID()).Scan(&tz, &nodeAhead, &lockAhead); err != nil {
		t.Fatal(err)
	}
	if tz == "UTC" {
		t.Fatalf("server default time zone is UTC; the test needs another")
	}
	// A local-time write would be hours off; allow a little for clock reads.
	if nodeAhead <= 0 || nodeAhead > 0.9+0.5 || lockAhead <= 0 || lockAhead > 1.5+0.5 {
		t.Errorf("expiry is %.3fs and lock_expiry %.3fs ahead of UTC now, want about 0.9s and 1.5s", nodeAhead, lockAhead)
	}
}

// TestHealthAddrTakenFallsBack: when the health address is taken the node
// serves on a free port instead.
func TestHealthAddrTakenFallsBack(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	opts := e.options()
	opts.HealthAddr = ln.Addr().String()
	n := startNode(t, opts)
	if n.HealthAddr() == "" || n.HealthAddr() == ln.Addr().String() {
		t.Fatalf("health address %q, want a free port other than %s", n.HealthAddr(), ln.Addr())
	}
	resp, err := http.Get("http://" + n.HealthAddr() + "/debug/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/debug/state status %d", resp.StatusCode)
	}
}

// TestRetainProcessedSurvivesNodeStart: with retainProcessed the published
// rows stay, processed = true, also after another node starts (its
// tombstone sweep must not delete them).
func TestRetainProcessedSurvivesNodeStart(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, channelNames("keep", 2)...)
	opts := e.options()
	opts.RetainProcessed = true
	startNode(t, opts)
	e.insertSpread(t, "keep", 10, 2)
	s.waitCount(t, 10, 20*time.Second)
	waitFor(t, 10*time.Second, "all rows completed", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE processed") == 10
	})
	startNode(t, opts)
	if n := e.count(t, "SELECT count(*) FROM outbox WHERE processed"); n != 10 {
		t.Fatalf("%d retained rows left after another node started, want 10", n)
	}
}
