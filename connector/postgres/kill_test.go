package postgres

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// childEnv carries the database URL, endpoint address and key to the child
// node process, separated by spaces.
const childEnv = "LIVESYNC_CONNECTOR_TEST_CHILD"

// TestChildNode is not a test on its own: TestSIGKILLedNodeProcess and
// TestSIGSTOPedNodeProcess run the test binary again with childEnv set, and
// this function then runs one node until the process is killed.
func TestChildNode(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("helper process for TestSIGKILLedNodeProcess")
	}
	f := strings.Fields(spec)
	opts := Options{DatabaseURL: f[0], Ably: append(ablylocal.ClientOptions(f[1], f[2]), ably.WithDisconnectedRetryTimeout(100*time.Millisecond),
		ably.WithRealtimeRequestTimeout(2*time.Second)),
		PollInterval: 100 * time.Millisecond, SafetyPoll: 300 * time.Millisecond, HeartbeatTimeout: 900 * time.Millisecond,
		LockTTL: 1500 * time.Millisecond, RetryMin: 20 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		CompletionFlush: 50 * time.Millisecond, HealthAddr: "-",
		StatementTimeout: 5 * time.Second, LockTimeout: 500 * time.Millisecond, IdleInTransactionTimeout: 2 * time.Second}
	if _, err := Start(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	select {} // until SIGKILL
}

// startChild runs one node in a child process (TestChildNode); exited is
// closed when it ends. It is killed when the test ends.
func startChild(t *testing.T, e *env) (*exec.Cmd, chan struct{}) {
	t.Helper()
	return startChildVia(t, e, e.ably.Addr())
}

// startChildVia is startChild with the node reaching the endpoint at addr
// (for example through a proxy).
func startChildVia(t *testing.T, e *env, addr string) (*exec.Cmd, chan struct{}) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run", "^TestChildNode$")
	child.Env = append(os.Environ(), childEnv+"="+e.db.URL+" "+addr+" "+e.key)
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = child.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = child.Process.Signal(syscall.SIGCONT)
		_ = child.Process.Kill()
		<-exited
	})
	return child, exited
}

// TestSIGKILLedNodeProcess: a node in another process is killed with
// SIGKILL mid-stream; the in-process nodes take over its channels once its
// lease and locks lapse: no row lost, each id seen once, in order.
func TestSIGKILLedNodeProcess(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	e := newEnv(t)
	chans := channelNames("s", 12)
	s := e.subscribe(t, chans...)
	child, exited := startChild(t, e)
	waitFor(t, 30*time.Second, "child node registered", func() bool {
		return e.count(t, "SELECT count(*) FROM nodes") == 1
	})
	var childID string
	if err := e.admin.QueryRow(context.Background(), "SELECT id FROM nodes").Scan(&childID); err != nil {
		t.Fatal(err)
	}
	opts := e.options()
	a := startNode(t, opts)
	e.insertSpread(t, "s", 300, 12)
	waitFor(t, 30*time.Second, "child holding rows (or done with them)", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE locked_by = $1", childID) > 0 ||
			e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed") < 300
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	var held []int64
	rows, err := e.admin.Query(context.Background(), "SELECT sequence_id FROM outbox WHERE locked_by = $1 AND NOT processed ORDER BY 1", childID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		held = append(held, id)
	}
	rows.Close()
	b := startNode(t, opts)
	e.insertSpread(t, "s", 300, 12)
	s.waitCount(t, 600, 60*time.Second)
	if ids := s.checkOrder(t); len(ids) != 600 {
		t.Fatalf("received %d distinct ids, want 600", len(ids))
	}
	// The journals of the nodes that took the killed node's rows over name
	// it as the row's previous holder (outbox trace shows both nodes).
	t.Logf("the killed node held %d row(s)", len(held))
	for _, id := range held {
		var from []string
		for _, n := range []*Node{a, b} {
			for _, j := range n.Journeys(connector.JourneyQuery{SequenceID: id}).Journeys {
				from = append(from, j.TookOverFrom)
			}
		}
		if len(from) != 1 || from[0] != childID {
			t.Errorf("row %d: journals say taken over from %q, want exactly one journey naming %s", id, from, childID)
		}
	}
	if len(held) == 0 {
		return
	}
	// outbox trace's merge (monitor.RowJourney) over the live nodes'
	// journals names both nodes and says why the first one is silent.
	pool, err := dbconn.Pool(context.Background(), e.db.URL, "trace", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	journals := func(_ context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error) {
		return []connector.JournalReply{a.Journeys(q), b.Journeys(q)}, nil
	}
	states := func(context.Context) ([]connector.NodeState, error) {
		return []connector.NodeState{a.State(), b.State()}, nil
	}
	m := monitor.New(pool, monitor.Options{Connector: monitor.InProcessNodes{States: states, Journeys: journals}})
	j, err := m.RowJourney(context.Background(), monitor.JourneyParams{Query: connector.JourneyQuery{SequenceID: held[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Nodes) != 2 || j.Nodes[1] != childID || len(j.Notes) == 0 || !strings.Contains(strings.Join(j.Notes, " "), childID) {
		t.Fatalf("trace of row %d: nodes %v, notes %q; want the live node and the killed %s, with a note", held[0], j.Nodes, j.Notes, childID)
	}
	t.Logf("trace of row %d: nodes %v; note: %s", held[0], j.Nodes, j.Notes[0])
}
