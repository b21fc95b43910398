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
	startNode(t, opts)
	e.insertSpread(t, "s", 300, 12)
	waitFor(t, 30*time.Second, "child holding rows (or done with them)", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE locked_by = $1", childID) > 0 ||
			e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed") < 300
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	startNode(t, opts)
	e.insertSpread(t, "s", 300, 12)
	s.waitCount(t, 600, 60*time.Second)
	if ids := s.checkOrder(t); len(ids) != 600 {
		t.Fatalf("received %d distinct ids, want 600", len(ids))
	}
}
