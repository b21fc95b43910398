package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one test's database and local Ably endpoint.
type env struct {
	db    *pgtest.DB
	admin *pgx.Conn
	ably  *ablylocal.Server
	key   string
	bus   *connector.Bus
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := pgtest.NewDB(t)
	return newEnvOn(t, db)
}

func newEnvOn(t testing.TB, db *pgtest.DB) *env {
	t.Helper()
	e := &env{db: db, admin: db.Admin(t), bus: &connector.Bus{}}
	e.startAbly(t, "127.0.0.1:0")
	return e
}

func (e *env) startAbly(t testing.TB, addr string) {
	t.Helper()
	o := ablylocal.Options{Addr: addr}
	if e.ably != nil {
		o.Keys = e.ably.Keys() // a restarted endpoint keeps its key
	}
	srv, err := ablylocal.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("ablylocal: %v", err)
	}
	e.ably = srv
	e.key = srv.Keys()[0].String()
	t.Cleanup(func() { srv.Close() })
}

// testLogger logs to stderr with LIVESYNC_TEST_LOG=1, else discards.
func testLogger() *slog.Logger {
	if os.Getenv("LIVESYNC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// options are the production options with every duration shortened.
func (e *env) options() Options {
	return Options{
		DatabaseURL: e.db.URL,
		Ably: append(ablylocal.ClientOptions(e.ably.Addr(), e.key),
			ably.WithDisconnectedRetryTimeout(100*time.Millisecond), ably.WithRealtimeRequestTimeout(2*time.Second)),
		PollInterval:     100 * time.Millisecond,
		SafetyPoll:       300 * time.Millisecond,
		HeartbeatTimeout: 900 * time.Millisecond,
		LockTTL:          1500 * time.Millisecond,
		RetryMin:         20 * time.Millisecond,
		RetryMax:         300 * time.Millisecond,
		CompletionFlush:  50 * time.Millisecond,
		HealthAddr:       "127.0.0.1:0",
		Logger:           testLogger(),
		Events:           e.bus,
	}
}

func startNode(t testing.TB, opts Options) *Node {
	t.Helper()
	n, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return n
}

func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := e.admin.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) count(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.admin.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// store is a Store on its own one-connection pool, for tests that drive
// the database seam directly; the pool closes when the test ends.
func (e *env) store(t testing.TB, name string) *Store {
	t.Helper()
	pool, err := dbconn.Pool(context.Background(), e.db.URL, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return NewStore(pool, schema.Names{})
}

// insertSpread inserts rows in one statement, row g on channel prefix+(g % channels).
func (e *env) insertSpread(t testing.TB, prefix string, rows, channels int) {
	t.Helper()
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data)
SELECT 'm-' || g, $1 || (g % $3), 'ev', jsonb_build_object('g', g) FROM generate_series(1, $2) g`, prefix, rows, channels)
}

// channelNames lists prefix0..prefix(n-1).
func channelNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// sub is a real ably-go subscriber recording what each channel receives.
type sub struct {
	mu   sync.Mutex
	msgs map[string][]*ably.Message
	n    int
	more chan struct{}
}

func (e *env) subscribe(t testing.TB, channels ...string) *sub {
	t.Helper()
	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(e.ably.Addr(), e.key),
		ably.WithDisconnectedRetryTimeout(100*time.Millisecond), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	s := &sub{msgs: map[string][]*ably.Message{}, more: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		t.Fatal(err)
	}
	for _, c := range channels {
		c := c
		if _, err := rt.Channels.Get(c).SubscribeAll(ctx, func(m *ably.Message) {
			s.mu.Lock()
			s.msgs[c] = append(s.msgs[c], m)
			s.n++
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}); err != nil {
			t.Fatalf("subscribe %s: %v (connection %s, channel %s, reason %v)", c, err,
				rt.Connection.State(), rt.Channels.Get(c).State(), rt.Channels.Get(c).ErrorReason())
		}
	}
	return s
}

// waitCount waits until at least n messages arrived.
func (s *sub) waitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got := s.n
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-s.more:
		case <-deadline.C:
			t.Fatalf("received %d of %d messages within %s", got, n, timeout)
		}
	}
}

func (s *sub) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// checkOrder asserts each channel's ids strictly increase (so each id once,
// in order) and returns every id seen.
func (s *sub) checkOrder(t testing.TB) []int64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []int64
	for ch, ms := range s.msgs {
		var prev int64
		for _, m := range ms {
			var id int64
			if _, err := fmt.Sscan(m.ID, &id); err != nil {
				t.Fatalf("channel %s: id %q is not a sequence_id", ch, m.ID)
			}
			if id <= prev {
				t.Errorf("channel %s: id %d after %d (order or duplicate)", ch, id, prev)
			}
			prev = id
			all = append(all, id)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

// waitFor polls cond (a database condition) until it holds: the condition is
// the event awaited, there is nothing to block on.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvent waits for an event matching ok on ch.
func waitEvent(t testing.TB, ch <-chan connector.Event, timeout time.Duration, what string, ok func(connector.Event) bool) connector.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case e := <-ch:
			if ok(e) {
				return e
			}
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for event: %s", timeout, what)
		}
	}
}
