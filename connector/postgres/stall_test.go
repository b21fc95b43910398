package postgres

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestConnectorSessionTimeouts: every connector connection carries
// statement_timeout, lock_timeout and idle_in_transaction_session_timeout,
// jit off (the server default is on), random_page_cost 1.1 (default 4)
// and plan_cache_mode force_generic_plan (default auto).
func TestConnectorSessionTimeouts(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.StatementTimeout, opts.LockTimeout, opts.IdleInTransactionTimeout = 7*time.Second, 3*time.Second, 4*time.Second
	n := startNode(t, opts)
	for name, want := range map[string]string{"statement_timeout": "7s", "lock_timeout": "3s", "idle_in_transaction_session_timeout": "4s", "jit": "off", "random_page_cost": "1.1", "plan_cache_mode": "force_generic_plan"} {
		var got string
		if err := n.store.pool.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

// TestConnectorSynchronousCommit: by default the connector's sessions
// commit asynchronously; with SynchronousCommit they keep whatever the
// database says (here 'local', set on the database so it differs from the
// harness server's own setting).
func TestConnectorSynchronousCommit(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "ALTER DATABASE "+pgx.Identifier{e.db.Name}.Sanitize()+" SET synchronous_commit = 'local'")
	for _, tc := range []struct {
		sync bool
		want string
	}{{false, "off"}, {true, "local"}} {
		opts := e.options()
		opts.SynchronousCommit = tc.sync
		n := startNode(t, opts)
		var got string
		if err := n.store.pool.QueryRow(context.Background(), "SELECT current_setting('synchronous_commit')").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("SynchronousCommit %v: the connector's sessions have synchronous_commit = %s, want %s", tc.sync, got, tc.want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := n.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}

// TestCompletionWaitIsBounded: a transaction holding the completion lock
// (as a node stopped mid-completion would) makes completion fail after
// lockTimeout and be retried instead of hanging; once the lock is free the
// row is completed.
func TestCompletionWaitIsBounded(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "c")
	opts := e.options()
	opts.LockTimeout = 200 * time.Millisecond
	n := startNode(t, opts)
	holder := e.db.Admin(t)
	ctx := context.Background()
	if _, err := holder.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", lockClassComplete); err != nil {
		t.Fatal(err)
	}
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'c', 'n', '1'), ('b', 'c', 'n', '2')`)
	s.waitCount(t, 2, 20*time.Second)
	waitFor(t, 20*time.Second, "a completion that gave up waiting for the lock", func() bool {
		resp, err := http.Get("http://" + n.HealthAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return !strings.Contains(string(b), "outbox_table_errors 0")
	})
	if got := e.count(t, "SELECT count(*) FROM outbox"); got != 2 {
		t.Fatalf("%d rows while completion is locked out, want 2", got)
	}
	if _, err := holder.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	e.waitOneTombstone(t, 2)
}
