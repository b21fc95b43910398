package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The interface must accept every kind of connection the monitor may hold.
var (
	_ Querier = (*pgx.Conn)(nil)
	_ Querier = (*pgxpool.Pool)(nil)
	_ Querier = (pgx.Tx)(nil)
)

// check runs doctor and returns its checks.
func check(t *testing.T, q Querier, p Params) []Check {
	t.Helper()
	checks, err := Run(context.Background(), q, p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return checks
}

// find returns the check with id, failing the test when it is absent.
func find(t *testing.T, checks []Check, id string) Check {
	t.Helper()
	for _, c := range checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %s", id, dump(checks))
	return Check{}
}

// requireOK fails unless every check not in except is ok.
func requireOK(t *testing.T, checks []Check, except ...string) {
	t.Helper()
	skip := map[string]bool{}
	for _, id := range except {
		skip[id] = true
	}
	for _, c := range checks {
		if !skip[c.ID] && c.Status != OK {
			t.Errorf("check %s is %s, want ok: %s\nfix: %s", c.ID, c.Status, c.Detail, c.Fix)
		}
	}
}

func dump(checks []Check) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("\n  " + string(c.Status) + " " + c.ID + ": " + c.Detail)
	}
	return b.String()
}

func exec(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestProvisionedDatabaseIsAllOK(t *testing.T) {
	db := pgtest.NewDB(t)
	checks := check(t, db.Admin(t), Params{})
	requireOK(t, checks)
	if Failed(checks) {
		t.Error("Failed = true on a provisioned database")
	}
	wantIDs := []string{"role", "outbox.table", "nodes.table", "trigger", "notify.channel", "notify.exception",
		"grants.schema", "grants.tables", "grants.sequence", "index.pending_idx", "index.channel_pending_idx",
		"index.lock_expiry_idx", "index.rejected_idx", "track_commit_timestamp", "outbox.dead_tuples", "outbox.tombstone"}
	if len(checks) != len(wantIDs) {
		t.Fatalf("got %d checks, want %d:%s", len(checks), len(wantIDs), dump(checks))
	}
	for i, id := range wantIDs {
		if checks[i].ID != id {
			t.Errorf("check %d is %s, want %s", i, checks[i].ID, id)
		}
	}
	if c := find(t, checks, "outbox.tombstone"); !strings.Contains(c.Detail, "empty") {
		t.Errorf("tombstone detail on an empty outbox = %q, want a note that it is empty", c.Detail)
	}
}

// The connector's own role can run the doctor through a pool.
func TestRunsAsTheRoleThroughAPool(t *testing.T) {
	db := pgtest.NewDB(t)
	ctx := context.Background()
	pool, err := dbconn.Pool(ctx, db.URL, "doctor-test", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	requireOK(t, check(t, pool, Params{Role: schema.DefaultRole}))
}

func TestCustomNamesProvisionedAreOK(t *testing.T) {
	db := pgtest.NewEmptyDB(t)
	admin := db.Admin(t)
	names := schema.Names{OutboxSchema: "myschema", OutboxTable: "events", NodesSchema: "myschema", NodesTable: "workers"}
	if err := schema.Provision(context.Background(), admin, schema.ProvisionParams{Names: names}); err != nil {
		t.Fatal(err)
	}
	checks := check(t, admin, Params{Names: names})
	requireOK(t, checks)
	if c := find(t, checks, "outbox.table"); !strings.Contains(c.Title, "myschema.events") {
		t.Errorf("outbox title %q does not name the custom table", c.Title)
	}
	// The default names do not exist in this database.
	def := check(t, admin, Params{})
	if c := find(t, def, "outbox.table"); c.Status != Fail {
		t.Errorf("default names on a custom-named database: outbox.table is %s, want fail", c.Status)
	}
}

func TestMissingOutboxGetsCreateStatementsThatWork(t *testing.T) {
	db := pgtest.NewEmptyDB(t)
	admin := db.Admin(t)
	checks := check(t, admin, Params{})
	c := find(t, checks, "outbox.table")
	if c.Status != Fail || !strings.Contains(c.Fix, "CREATE TABLE") || !strings.Contains(c.Fix, "CREATE TRIGGER") {
		t.Fatalf("outbox.table = %s %q, fix %q; want fail with CREATE statements", c.Status, c.Detail, c.Fix)
	}
	if find(t, checks, "nodes.table").Status != Fail {
		t.Error("nodes.table should fail on an empty database")
	}
	for _, id := range []string{"trigger", "index.pending_idx", "outbox.tombstone"} {
		for _, got := range checks {
			if got.ID == id {
				t.Errorf("check %s reported although the outbox is missing", id)
			}
		}
	}
	if !Failed(checks) {
		t.Error("Failed = false on an empty database")
	}
	exec(t, admin, c.Fix)
	requireOK(t, check(t, admin, Params{}))
}
