package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
	"github.com/livesync-dev/livesync-dev/schema"
)

// schemaNames are custom table names in the public schema.
func schemaNames(outbox, nodes string) schema.Names {
	return schema.Names{OutboxSchema: "public", OutboxTable: outbox, NodesSchema: "public", NodesTable: nodes}
}

// startTail runs `tail CHANNEL --json` until the test ends, waits until it
// is attached and returns its stdout.
func startTail(t *testing.T, channel string) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	root := NewRootCommand(outW, errW)
	root.SetArgs([]string{"tail", channel, "--json"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = root.ExecuteContext(ctx)
		outW.Close()
		errW.Close()
	}()
	t.Cleanup(func() { cancel(); go io.Copy(io.Discard, outR); <-done }) //nolint:errcheck // drain
	stderr := bufio.NewReader(errR)
	if line := readLine(t, stderr); !strings.HasPrefix(line, "attached: "+channel) {
		t.Fatalf("tail stderr %q; want the attached line", line)
	}
	go io.Copy(io.Discard, stderr) //nolint:errcheck // drain
	return bufio.NewReader(outR)
}

// The scenario suite: one test per cause of a stuck row. Each creates the
// cause for real (a real connector run through `connector run`, the real
// local endpoint, a real Postgres), asserts the reason and its key facts in
// `status --json`, applies the advised action and asserts the rows flow.
// The time each fix took is logged (timing goals belong in benchmarks; the
// deadlines here only bound the wait).

// poisonData is a JSON payload over Ably's 64 KiB message limit.
func poisonData() string { return `{"pad":"` + strings.Repeat("x", 70*1024) + `"}` }

// startPoison runs a connector, blocks poison:1 with a 70 KB row (with a
// row behind it) and checks fine:1 keeps flowing. It returns the poison
// row and the row behind it.
func startPoison(t *testing.T, s *scenario) (poison, behind int64) {
	t.Helper()
	s.connector()
	poison = s.insert("--channel", "poison:1", "--data", poisonData())[0]
	behind = s.insert("--channel", "poison:1", "--data", `{"after":true}`)[0]
	st, i, took := s.awaitReason(poison, "blocked", 10*time.Second)
	t.Logf("poison row reported blocked after %s", took.Round(time.Millisecond))
	b := st.Stuck[i]
	if b.ErrorCode != 40009 || b.Channel != "poison:1" {
		t.Fatalf("blocked entry %+v: want Ably error 40009 on poison:1", b)
	}
	mustContain(t, "action", b.Action, "outbox delete "+strconv.FormatInt(poison, 10), "outbox retry "+strconv.FormatInt(poison, 10))
	behindReason := ""
	for _, x := range st.Stuck {
		if x.SequenceID == behind {
			behindReason = x.Reason
		}
	}
	if behindReason != "behind" {
		t.Errorf("row %d behind the poison row: reason %q, want behind", behind, behindReason)
	}
	fine := s.insert("--channel", "fine:1", "--data", `{"ok":1}`, "--count", "3")
	s.awaitFlowed("fine:1 flows while poison:1 is blocked", 10*time.Second, fine...)
	return poison, behind
}

// TestScenarioPoisonRowDeleted: 40009 → blocked; `outbox delete` of the
// row lets the channel resume.
func TestScenarioPoisonRowDeleted(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	poison, behind := startPoison(t, s)
	if _, stderr, code := runCLI(t, "outbox", "delete", strconv.FormatInt(poison, 10), "--yes"); code != 0 {
		t.Fatalf("outbox delete: exit %d %s", code, stderr)
	}
	took := s.awaitFlowed("poison:1 resumes after the delete", 15*time.Second, behind)
	t.Logf("poison:1 resumed %s after the delete", took.Round(time.Millisecond))
}

// TestScenarioPoisonRowShrunkAndRetried: 40009 → blocked; shrinking the
// row and `outbox retry` (which says it tries it again now) publishes it.
func TestScenarioPoisonRowShrunkAndRetried(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	poison, behind := startPoison(t, s)
	s.exec("UPDATE "+s.names.Outbox()+` SET data = '{"small":true}' WHERE sequence_id = $1`, poison)
	out, stderr, code := runCLI(t, "outbox", "retry", strconv.FormatInt(poison, 10), "--yes")
	switch {
	case code == 0 && strings.Contains(out, "already claimed"):
		// The connector noticed the changed row and took it before the
		// retry ran: the retry leaves it with the node.
		t.Log("the connector took the shrunk row before the retry")
	case code == 0:
		mustContain(t, "retry output", out, "tries it again now")
	case code == 1 && strings.Contains(stderr, "no such outbox row"):
		t.Log("the connector published the shrunk row before the retry")
	default:
		t.Fatalf("outbox retry: exit %d %s", code, stderr)
	}
	took := s.awaitFlowed("poison:1 resumes after shrink + retry", 15*time.Second, poison, behind)
	t.Logf("poison:1 resumed %s after shrink + retry", took.Round(time.Millisecond))
}

// TestScenarioBlockedRowRetried: `outbox retry` of a blocked row says the
// connector tries it again now, and it does: the unchanged row is refused
// again and reported blocked again.
func TestScenarioBlockedRowRetried(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	poison, _ := startPoison(t, s)
	before := s.lastErrorTime(poison)
	if before == "" {
		t.Fatal("the connector reports no failure time for the blocked row")
	}
	out, stderr, code := runCLI(t, "outbox", "retry", strconv.FormatInt(poison, 10), "--yes")
	if code != 0 {
		t.Fatalf("outbox retry: exit %d %s", code, stderr)
	}
	mustContain(t, "retry output", out, "tries it again now")
	took := s.await("the row tried again", 5*time.Second, func() bool {
		t := s.lastErrorTime(poison)
		return t != "" && t != before
	})
	t.Logf("tried again %s after the retry", took.Round(time.Millisecond))
}

// TestScenarioCapabilityDenied: a key that may publish only public:* and a
// row on secret:1 → blocked with 40160, naming the capability; deleting the
// row (the advised action without a new key) unblocks the channel.
func TestScenarioCapabilityDenied(t *testing.T) {
	key, err := auth.ParseKeySpec(`scen.pub:secret={"public:*":["publish","subscribe"]}`)
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario(t, scenarioOptions{endpoint: ablylocal.Options{Keys: []auth.Key{key}}})
	s.connector()
	secret := s.insert("--channel", "secret:1", "--data", `{"s":1}`)[0]
	st, i, _ := s.awaitReason(secret, "blocked", 10*time.Second)
	b := st.Stuck[i]
	if b.ErrorCode != 40160 {
		t.Fatalf("blocked entry %+v: want 40160", b)
	}
	mustContain(t, "action", b.Action, `"publish"`, `secret:*`, "outbox delete "+strconv.FormatInt(secret, 10))
	pub := s.insert("--channel", "public:1", "--data", `{"p":1}`)
	s.awaitFlowed("public:1 flows", 10*time.Second, pub...)
	if _, stderr, code := runCLI(t, "outbox", "delete", strconv.FormatInt(secret, 10), "--yes"); code != 0 {
		t.Fatalf("outbox delete: exit %d %s", code, stderr)
	}
	took := s.await("secret:1 no longer reported", 15*time.Second, func() bool {
		for _, x := range s.status().Stuck {
			if x.Channel == "secret:1" {
				return false
			}
		}
		return true
	})
	t.Logf("secret:1 unblocked %s after the delete", took.Round(time.Millisecond))
}

// TestScenarioEndpointDown: the endpoint stops → publish-failing with the
// node's connection state; starting it again (the advised action) lets the
// rows flow.
func TestScenarioEndpointDown(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	s.connector()
	first := s.insert("--channel", "c:1", "--data", `{"n":1}`)
	s.awaitFlowed("a row flows", 10*time.Second, first...)
	s.stopEndpoint()
	ids := s.insert("--channel", "c:1", "--data", `{"n":2}`)
	st, i, _ := s.awaitReason(ids[0], "publish-failing", 30*time.Second)
	mustContain(t, "action", st.Stuck[i].Action, "sandbox up")
	s.startEndpoint()
	took := s.awaitFlowed("rows flow once the endpoint is back", 60*time.Second, ids...)
	t.Logf("rows flowed %s after the endpoint came back", took.Round(time.Millisecond))
}

// TestScenarioRateLimited: under --limits ably a burst over many channels
// passes 50 msg/s on the node's connection (42911; one channel alone never
// passes 50/s with one publish in flight, so 42913 needs real Ably's
// latency) → publish-failing with the code, attempts and next retry; the
// connector's retries (the advised action: wait) deliver every row.
func TestScenarioRateLimited(t *testing.T) {
	// A slower first retry keeps the failure visible between snapshots;
	// one realtime connection, so the burst passes its 50 msg/s limit.
	s := newScenario(t, scenarioOptions{endpoint: ablylocal.Options{Limits: "ably"},
		yaml: "connector:\n  lazyFence: true\n  ablyConnections: 1\n  retry:\n    min: 1s\n"})
	s.connector()
	var ids []int64
	for c := 0; c < 20; c++ {
		ids = append(ids, s.insert("--channel", "hot:"+strconv.Itoa(c), "--data", `{"n":1}`, "--count", "20")...)
	}
	// While the retry itself is in flight the entry has no next retry
	// time; keep looking until one shows it (or the burst drained).
	var found, withRetry bool
	s.await("a rate-limit failure reported with its next retry", 30*time.Second, func() bool {
		for _, x := range s.status().Stuck {
			if x.Reason == "publish-failing" && (x.ErrorCode == 42913 || x.ErrorCode == 42911) {
				if x.Attempts < 1 {
					t.Errorf("publish-failing entry %+v: want attempts", x)
				}
				mustContain(t, "action", x.Action, "rate limit")
				found = true
				if x.NextRetry != nil {
					withRetry = true
					return true
				}
			}
		}
		return !s.pending(ids[len(ids)-1])
	})
	if !found {
		t.Fatal("the burst drained without a rate-limit failure being reported")
	}
	if !withRetry {
		t.Error("no publish-failing entry showed its next retry time")
	}
	took := s.awaitFlowed("every row delivered after retries", 90*time.Second, ids...)
	t.Logf("every row delivered %s after the failure was reported", took.Round(time.Millisecond))
}

// TestScenarioOwnerDead: rows locked by a node that died (its lease
// expired, its lock still live) → owner-dead with the time until the lock
// lapses; `outbox retry` (safe: the owner is dead) lets the live node take
// them.
func TestScenarioOwnerDead(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	s.connector()
	ids := s.insert("--channel", "orphan:1", "--data", `{"n":1}`, "--count", "2")
	// A node that crashed while holding the rows: its lease is over, its
	// locks last another 5 minutes.
	s.exec("INSERT INTO " + s.names.Nodes() + ` (id, expiry) VALUES ('crashed-node', (now() AT TIME ZONE 'utc') - interval '20 seconds')`)
	s.exec("UPDATE "+s.names.Outbox()+` SET locked_by = 'crashed-node', lock_expiry = (now() AT TIME ZONE 'utc') + interval '5 minutes' WHERE sequence_id = ANY($1)`, ids)
	st, i, _ := s.awaitReason(ids[0], "owner-dead", 10*time.Second)
	o := st.Stuck[i]
	if o.LockLapsesInSeconds == nil || *o.LockLapsesInSeconds < 200 || *o.LockLapsesInSeconds > 300 {
		t.Fatalf("owner-dead entry %+v: want the lock lapsing in about 300s", o)
	}
	mustContain(t, "action", o.Action, "outbox retry "+strconv.FormatInt(ids[0], 10))
	args := []string{"outbox", "retry", "--yes"}
	for _, id := range ids {
		args = append(args, strconv.FormatInt(id, 10))
	}
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("outbox retry: exit %d %s", code, stderr)
	}
	took := s.awaitFlowed("the live node publishes the freed rows", 15*time.Second, ids...)
	t.Logf("rows flowed %s after the retry", took.Round(time.Millisecond))
}

// TestScenarioLockExpired: a lock that lapsed after its owner died, with a
// live node that has not polled since → lock-expired; the advised action
// (wait for the safety poll) publishes it.
func TestScenarioLockExpired(t *testing.T) {
	s := newScenario(t, scenarioOptions{yaml: "connector:\n  safetyPoll: 15s\n"})
	s.connector()
	// Written by a node that then died: locked for 2 more seconds.
	s.exec("INSERT INTO " + s.names.Outbox() + ` (mutation_id, channel, name, data, locked_by, lock_expiry)
	  VALUES ('m', 'lapsed:1', 'e', '{}', 'died-node', (now() AT TIME ZONE 'utc') + interval '2 seconds')`)
	id := int64(s.count("SELECT max(sequence_id) FROM " + s.names.Outbox()))
	s.awaitReason(id, "owner-dead", 5*time.Second)
	st, i, _ := s.awaitReason(id, "lock-expired", 10*time.Second)
	mustContain(t, "action", st.Stuck[i].Action, "safety poll", "every 15s")
	took := s.awaitFlowed("the safety poll reclaims the row", 20*time.Second, id)
	t.Logf("row flowed %s after lock-expired was reported", took.Round(time.Millisecond))
}

// TestScenarioRowLocked: an application transaction holding the head row
// → row-locked naming its pid, application_name and age; ending that
// session (the advised SQL) lets the row go.
func TestScenarioRowLocked(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	held := s.insert("--channel", "held:1", "--data", `{"n":1}`, "--count", "2")
	app := s.db.Admin(t)
	ctx := t.Context()
	if _, err := app.Exec(ctx, `SET application_name = 'billing-worker'`); err != nil {
		t.Fatal(err)
	}
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // the session is terminated
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+s.names.Outbox()+" WHERE sequence_id = $1 FOR UPDATE", held[0]); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	s.connector()
	st, i, _ := s.awaitReason(held[0], "row-locked", 15*time.Second)
	r := st.Stuck[i]
	if r.Holder == nil || r.Holder.PID != pid || r.Holder.ApplicationName != "billing-worker" {
		t.Fatalf("row-locked entry %+v: want pid %d billing-worker", r, pid)
	}
	mustContain(t, "fix SQL", r.FixSQL, "pg_terminate_backend("+strconv.Itoa(pid)+")")
	if !s.pending(held[1]) {
		t.Fatal("the row behind the held row went out first")
	}
	s.exec(r.FixSQL)
	took := s.awaitFlowed("the rows go once the session ends", 15*time.Second, held...)
	t.Logf("rows flowed %s after terminating the holder", took.Round(time.Millisecond))
}

// TestScenarioLockWithoutExpiry: locked_by set with lock_expiry NULL (an
// application's write) → lock-without-expiry with the fix SQL; running it
// lets the row go.
func TestScenarioLockWithoutExpiry(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	s.connector()
	// The application writes the row already "locked" in one statement.
	s.exec("INSERT INTO " + s.names.Outbox() + ` (mutation_id, channel, name, data, locked_by) VALUES ('m', 'nolock:1', 'e', '{}', 'app-wrote-this')`)
	id := int64(s.count("SELECT max(sequence_id) FROM " + s.names.Outbox()))
	st, i, _ := s.awaitReason(id, "lock-without-expiry", 15*time.Second)
	fix := st.Stuck[i].FixSQL
	mustContain(t, "fix SQL", fix, "locked_by = NULL", "sequence_id = "+strconv.FormatInt(id, 10))
	s.exec(fix)
	took := s.awaitFlowed("the row goes after the fix SQL", 15*time.Second, id)
	t.Logf("row flowed %s after the fix SQL", took.Round(time.Millisecond))
}

// TestScenarioNoLiveNode: rows with no connector → no-live-node; starting
// one (the advised action) publishes them.
func TestScenarioNoLiveNode(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	ids := s.insert("--channel", "idle:1", "--data", `{"n":1}`, "--count", "2")
	st, i, _ := s.awaitReason(ids[0], "no-live-node", 10*time.Second)
	mustContain(t, "action", st.Stuck[i].Action, "connector run")
	s.connector()
	took := s.awaitFlowed("rows flow once a connector runs", 15*time.Second, ids...)
	t.Logf("rows flowed %s after the connector started", took.Round(time.Millisecond))
}

// TestScenarioTriggerMissing: without the notify trigger rows wait for the
// safety poll, and status says so; the doctor's SQL restores the trigger.
func TestScenarioTriggerMissing(t *testing.T) {
	// a safety poll well beyond the wait for the reason, so a loaded
	// machine cannot publish the row before status has reported it
	s := newScenario(t, scenarioOptions{yaml: "connector:\n  safetyPoll: 20s\n"})
	s.exec("DROP TRIGGER IF EXISTS " + `"public_outbox_trigger"` + " ON " + s.names.Outbox())
	s.connector()
	ids := s.insert("--channel", "quiet:1", "--data", `{"n":1}`)
	st := s.status()
	if st.Trigger.Present || st.Trigger.Fix == "" {
		t.Fatalf("trigger %+v: want missing with the SQL that creates it", st.Trigger)
	}
	notes := strings.Join(st.Notes, "\n")
	mustContain(t, "notes", notes, "safety poll (every 20s)")
	s.awaitReason(ids[0], "no-trigger", 10*time.Second)
	s.awaitFlowed("the safety poll publishes the row", 40*time.Second, ids...)
	s.exec(st.Trigger.Fix)
	more := s.insert("--channel", "quiet:1", "--data", `{"n":2}`)
	took := s.awaitFlowed("with the trigger back a row goes at once", 5*time.Second, more...)
	t.Logf("with the trigger back the row flowed in %s", took.Round(time.Millisecond))
}

// TestScenarioCustomTableNames: with postgres.outboxTableName app_outbox
// and nodesTableName app_nodes every command works on those tables.
func TestScenarioCustomTableNames(t *testing.T) {
	s := newScenario(t, scenarioOptions{names: schemaNames("app_outbox", "app_nodes")})
	ids := s.insert("--channel", "custom:1", "--data", `{"n":1}`, "--count", "2")
	if n := s.count("SELECT count(*) FROM public.app_outbox"); n != 2 {
		t.Fatalf("app_outbox holds %d rows, want 2", n)
	}
	st := s.status()
	if st.Outbox.Pending != 2 {
		t.Fatalf("status pending %d, want 2", st.Outbox.Pending)
	}
	out, stderr, code := runCLI(t, "outbox", "list", "--pending", "--json")
	var rows []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 {
		t.Fatalf("outbox list: exit %d %s %s", code, out, stderr)
	}
	if _, stderr, code := runCLI(t, "outbox", "list", "--stuck"); code != 0 {
		t.Fatalf("outbox list --stuck: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "outbox", "retry", strconv.FormatInt(ids[0], 10), "--yes"); code != 0 {
		t.Fatalf("outbox retry: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "outbox", "delete", strconv.FormatInt(ids[1], 10), "--yes"); code != 0 {
		t.Fatalf("outbox delete: exit %d %s", code, stderr)
	}
	out, stderr, code = runCLI(t, "doctor", "--json")
	var doc struct {
		Checks []struct{ ID, Status, Detail string }
	}
	if json.Unmarshal([]byte(out), &doc) != nil || len(doc.Checks) == 0 {
		t.Fatalf("doctor: exit %d %s %s", code, out, stderr)
	}
	for _, c := range doc.Checks {
		if c.Status == "fail" && strings.Contains(c.Detail, "does not exist") {
			t.Errorf("doctor looked for the default tables: %+v", c)
		}
	}
	s.connector()
	if n := s.count("SELECT count(*) FROM public.app_nodes"); n != 1 {
		t.Fatalf("app_nodes holds %d rows, want the connector's", n)
	}
	s.awaitFlowed("the connector publishes from app_outbox", 10*time.Second, ids[0])
	// tail reads the same sandbox and configuration.
	lines := startTail(t, "custom:1")
	more := s.insert("--channel", "custom:1", "--data", `{"n":3}`)
	s.awaitFlowed("the new row flows", 10*time.Second, more...)
	for {
		line := readLine(t, lines)
		if strings.Contains(line, `"id":"`+strconv.FormatInt(more[0], 10)+`"`) {
			break
		}
	}
}

// TestEveryCommandRefusesABadConfigFile: an invalid livesync.yaml stops
// every command the same way, before it touches anything: exit status 2
// and the file, line and key.
func TestEveryCommandRefusesABadConfigFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "livesync.yaml"), []byte("postgres:\n  outboxTableName: app_outbox\nconnector:\n  batchSize: lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status"}, {"insert", "--channel", "c", "--name", "n"}, {"outbox", "list"}, {"outbox", "retry", "1", "--yes"},
		{"outbox", "delete", "1", "--yes"}, {"doctor"}, {"connector", "run"}, {"tail", "c"}, {"sandbox", "up"}, {"up", "--headless"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "livesync.yaml:4") || !strings.Contains(stderr, "connector.batchSize") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming livesync.yaml:4 and connector.batchSize", args, code, stderr)
		}
	}
}
