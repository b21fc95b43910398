package faultsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/jackc/pgx/v5/pgxpool"

	connectorpkg "github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/internal/testbin"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// binary is the livesync-dev command, built once per test binary.
func binary(t *testing.T) string { return testbin.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

// suiteYAML tunes the connector so failover fits a CI budget: a node's
// lease lapses 3 s after its last heartbeat and row locks after 4 s (the
// defaults are 15 s and 30 s).
const suiteYAML = `connector:
  heartbeatTimeout: 3s
  lockTTL: 4s
  safetyPoll: 1s
  retry:
    min: 100ms
    max: 2s
`

// env is a sandbox folder brought up with the real binary.
type env struct {
	t     *testing.T
	dir   string
	state sandbox.State
	pool  *pgxpool.Pool
}

// childEnv is the environment of the binary: no real Ably key, no
// configuration from the caller.
func childEnv() []string {
	out := []string{"ABLY_API_KEY=", "LIVESYNC_CONFIG="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIVESYNC_") && !strings.HasPrefix(kv, "ABLY_API_KEY=") {
			out = append(out, kv)
		}
	}
	return out
}

// run runs the binary in the sandbox folder and returns stdout; a failure
// fails the test.
func (e *env) run(timeout time.Duration, args ...string) string {
	e.t.Helper()
	out, stderr, err := e.try(timeout, args...)
	if err != nil {
		e.t.Fatalf("livesync-dev %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// try runs the binary and returns stdout, stderr and the error.
func (e *env) try(timeout time.Duration, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(e.t), args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = e.dir, childEnv(), time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// up brings the sandbox up (again) and reloads its state.
func (e *env) up() time.Duration {
	e.t.Helper()
	start := time.Now()
	out := e.run(2*time.Minute, "sandbox", "up", "--json")
	took := time.Since(start)
	var st sandbox.State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("sandbox up --json: %v\n%s", err, out)
	}
	if st.Ably == nil || !st.Ably.Local {
		e.t.Fatalf("sandbox up: no local endpoint: %s", out)
	}
	e.state = st
	return took
}

// newEnv creates the folder with the suite's livesync.yaml (plus extra)
// and brings the sandbox up; it is taken down (purged) when the test ends.
func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(e.dir, "livesync.yaml"), []byte(suiteYAML+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _, _ = e.try(2*time.Minute, "sandbox", "down", "--purge") })
	e.up()
	pool, err := pgxpool.New(context.Background(), e.state.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e.pool = pool
	return e
}

// connector is one `connector run` process.
type connector struct {
	cmd    *exec.Cmd
	node   string
	health string // host:port of its /health and /metrics
	log    string
	done   chan struct{}
}

// startConnector starts `connector run` and waits for its node to register.
func (e *env) startConnector(env ...string) *connector {
	e.t.Helper()
	logPath := filepath.Join(e.dir, ".livesync", fmt.Sprintf("connector-%d.log", time.Now().UnixNano()))
	logf, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(binary(e.t), "connector", "run", "--health-addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = e.dir, append(childEnv(), env...), logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	c := &connector{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(c.done) }()
	e.t.Cleanup(func() { c.stop(e.t) })
	deadline := time.Now().Add(30 * time.Second)
	for c.node == "" {
		regs, _ := connectorpkg.ReadRegistrations(filepath.Join(e.dir, ".livesync"))
		for _, reg := range regs {
			if reg.PID == cmd.Process.Pid {
				c.node, c.health = reg.ID, reg.HealthAddr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			e.t.Fatalf("connector run registered no node within 30s:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// stop ends the process gracefully (SIGCONT first, in case it is paused).
func (c *connector) stop(t *testing.T) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGCONT)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Logf("connector %s did not stop on SIGTERM within 20s; killed", c.node)
	}
}

// writer inserts rows at a steady rate, round-robin over channels, one
// transaction per row, retrying a failed insert as an application would.
type writer struct {
	mu       sync.Mutex
	ids      map[string][]int64 // committed ids per channel, in commit order
	failures int
	stop     chan struct{}
	done     chan struct{}
}

// startWriter inserts one row every interval until stopped.
func (e *env) startWriter(channels []string, interval time.Duration) *writer {
	return e.startWriterPadded(channels, interval, 0)
}

// startWriterPadded is startWriter with pad bytes of filler in each row's
// data, so a scenario can move more bytes at the same row rate.
func (e *env) startWriterPadded(channels []string, interval time.Duration, pad int) *writer {
	filler := strings.Repeat("x", pad)
	w := &writer{ids: map[string][]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			ch := channels[i%len(channels)]
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				var id int64
				err := e.pool.QueryRow(ctx, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ($1, $2, 'e', $3) RETURNING sequence_id`,
					fmt.Sprintf("m-%d", i), ch, fmt.Sprintf(`{"i":%d,"p":"%s"}`, i, filler)).Scan(&id)
				cancel()
				if err == nil {
					w.mu.Lock()
					w.ids[ch] = append(w.ids[ch], id)
					w.mu.Unlock()
					break
				}
				w.mu.Lock()
				w.failures++
				w.mu.Unlock()
				select {
				case <-w.stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// finish stops the writer and returns the committed ids.
func (w *writer) finish() (map[string][]int64, int) {
	close(w.stop)
	<-w.done
	return w.ids, w.failures
}

// delivery is one message a subscriber saw.
type delivery struct {
	id int64
	at int64 // the endpoint's timestamp, ms
}

// subscriber listens on the channels with ably-go, retrying fast as every
// livesync-dev client of the local endpoint does.
type subscriber struct {
	rt   *ably.Realtime
	mu   sync.Mutex
	live map[string][]delivery
}

// subscribe attaches the channels.
func (e *env) subscribe(channels []string) *subscriber {
	e.t.Helper()
	a := e.state.Ably
	rt, err := ably.NewRealtime(append(stack.ClientOptions(a, a.Key), ably.WithAutoConnect(false), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		e.t.Fatal(err)
	}
	s := &subscriber{rt: rt, live: map[string][]delivery{}}
	e.t.Cleanup(rt.Close)
	rt.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		e.t.Fatal(err)
	}
	for _, ch := range channels {
		ch := ch
		if _, err := rt.Channels.Get(ch).SubscribeAll(ctx, func(m *ably.Message) {
			id, _ := strconv.ParseInt(m.ID, 10, 64)
			s.mu.Lock()
			s.live[ch] = append(s.live[ch], delivery{id: id, at: m.Timestamp})
			s.mu.Unlock()
		}); err != nil {
			e.t.Fatal(err)
		}
	}
	return s
}

// history reads a channel's whole history, oldest first, over REST.
func (e *env) history(channel string) []delivery {
	e.t.Helper()
	a := e.state.Ably
	rest, err := ably.NewREST(append(stack.ClientOptions(a, a.Key), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pages, err := rest.Channels.Get(channel).History(ably.HistoryWithDirection(ably.Forwards), ably.HistoryWithLimit(1000)).Pages(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []delivery
	for pages.Next(ctx) {
		for _, m := range pages.Items() {
			id, _ := strconv.ParseInt(m.ID, 10, 64)
			out = append(out, delivery{id: id, at: m.Timestamp})
		}
	}
	if err := pages.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// awaitDrained waits until every id is published (deleted or processed).
func (e *env) awaitDrained(ids map[string][]int64, within time.Duration) time.Duration {
	e.t.Helper()
	var all []int64
	for _, v := range ids {
		all = append(all, v...)
	}
	start := time.Now()
	for {
		var n int
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := e.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sequence_id = ANY($1) AND NOT processed`, all).Scan(&n)
		cancel()
		if err == nil && n == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			st, _, _ := e.try(30*time.Second, "status")
			e.t.Fatalf("%d row(s) still pending %s after the writer stopped (err %v)\n%s", n, within, err, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitLast waits until s received each channel's last published id, or
// within passes (check then reports what is missing).
func (s *subscriber) awaitLast(ids map[string][]int64, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		all := true
		for ch, want := range ids {
			if len(want) == 0 {
				continue
			}
			got := s.live[ch]
			if !slices.ContainsFunc(got, func(d delivery) bool { return d.id == want[len(want)-1] }) {
				all = false
				break
			}
		}
		s.mu.Unlock()
		if all {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outcome is one scenario's row of the table.
type outcome struct {
	rows, lost, dup, reordered int
	recovery                   time.Duration
}

// check compares what was committed with what subscribers can see: the
// live subscriber's deliveries and the channel history (after an endpoint
// restart the history holds only what was published since, the live
// subscriber what came before). lost: committed, never seen; dup: an id
// seen twice by the same view; reordered: an id lower than its
// predecessor in one view. recovery is the longest pause between two
// deliveries on one channel.
func (e *env) check(ids map[string][]int64, s *subscriber) outcome {
	var o outcome
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch, want := range ids {
		o.rows += len(want)
		hist := e.history(ch)
		seen := map[int64]bool{}
		var times []int64
		for _, view := range [][]delivery{s.live[ch], hist} {
			inView := map[int64]bool{}
			var prev int64
			for _, d := range view {
				if inView[d.id] {
					o.dup++
				}
				if d.id < prev {
					o.reordered++
				}
				inView[d.id], seen[d.id], prev = true, true, d.id
				times = append(times, d.at)
			}
		}
		for _, id := range want {
			if !seen[id] {
				o.lost++
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		for i := 1; i < len(times); i++ {
			if gap := time.Duration(times[i]-times[i-1]) * time.Millisecond; gap > o.recovery {
				o.recovery = gap
			}
		}
	}
	return o
}
