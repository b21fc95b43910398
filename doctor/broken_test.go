package doctor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/schema"
)

// defect is one deliberate deviation from the documented schema and the
// check that must report it.
type defect struct {
	name   string
	setup  []string // run as superuser on a provisioned database
	params Params
	id     string
	status Status
	detail string // a substring of the check's Detail
	// fixes says the check's Fix, executed, makes the check ok.
	fixes bool
	// others are checks allowed to be non-ok as a consequence.
	others []string
}

const noHandlerFunction = `CREATE OR REPLACE FUNCTION public.outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('ably_adbc', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql`

var defects = []defect{
	{name: "trigger dropped", setup: []string{"DROP TRIGGER public_outbox_trigger ON public.outbox"},
		id: "trigger", status: Fail, detail: "no trigger", fixes: true},
	{name: "trigger for each row", setup: []string{
		"DROP TRIGGER public_outbox_trigger ON public.outbox",
		"CREATE TRIGGER public_outbox_trigger AFTER INSERT ON public.outbox FOR EACH ROW EXECUTE PROCEDURE public.outbox_notify()"},
		id: "trigger", status: Warn, detail: "FOR EACH ROW", fixes: true},
	{name: "trigger before insert", setup: []string{
		"DROP TRIGGER public_outbox_trigger ON public.outbox",
		"CREATE TRIGGER public_outbox_trigger BEFORE INSERT ON public.outbox FOR EACH STATEMENT EXECUTE PROCEDURE public.outbox_notify()"},
		id: "trigger", status: Warn, detail: "BEFORE", fixes: true},
	{name: "trigger before insert for each row", setup: []string{
		"DROP TRIGGER public_outbox_trigger ON public.outbox",
		"CREATE TRIGGER public_outbox_trigger BEFORE INSERT ON public.outbox FOR EACH ROW EXECUTE PROCEDURE public.outbox_notify()"},
		id: "trigger", status: Fail, detail: "discards every inserted row", fixes: true},
	{name: "trigger on update only, other name", setup: []string{
		"DROP TRIGGER public_outbox_trigger ON public.outbox",
		"CREATE TRIGGER outbox_trigger AFTER UPDATE ON public.outbox FOR EACH STATEMENT EXECUTE PROCEDURE public.outbox_notify()"},
		id: "trigger", status: Fail, detail: "does not fire on INSERT", fixes: true},
	{name: "trigger disabled", setup: []string{"ALTER TABLE public.outbox DISABLE TRIGGER public_outbox_trigger"},
		id: "trigger", status: Fail, detail: "disabled", fixes: true},
	{name: "function notifies another channel", setup: []string{strings.Replace(schema.DefaultNames().CreateNotifyFunctionSQL(), "'ably_adbc'", "'ably_adbc2'", 1)},
		id: "notify.channel", status: Fail, detail: "ably_adbc2", fixes: true},
	{name: "function without exception handler", setup: []string{noHandlerFunction},
		id: "notify.exception", status: Warn, detail: "no EXCEPTION handler", fixes: true},
	{name: "sequence grant missing", setup: []string{"REVOKE ALL ON SEQUENCE public.outbox_sequence_id_seq FROM livesync_user"},
		id: "grants.sequence", status: Fail, detail: "USAGE, SELECT", fixes: true},
	{name: "table grant missing", setup: []string{"REVOKE DELETE, UPDATE ON public.nodes FROM livesync_user"},
		id: "grants.tables", status: Fail, detail: "no UPDATE, DELETE on public.nodes", fixes: true},
	{name: "public schema usage revoked", setup: []string{"REVOKE USAGE ON SCHEMA public FROM PUBLIC"},
		id: "grants.schema", status: Fail, detail: "no USAGE on schema public", fixes: true},
	{name: "index missing", setup: []string{"DROP INDEX public.outbox_pending_idx"},
		id: "index.pending_idx", status: Warn, detail: "missing", fixes: true},
	{name: "lock_expiry with time zone", setup: []string{"ALTER TABLE public.outbox ALTER COLUMN lock_expiry TYPE timestamptz"},
		id: "outbox.table", status: Fail, detail: "lock_expiry is timestamp with time zone", fixes: true},
	{name: "processed without default", setup: []string{"ALTER TABLE public.outbox ALTER COLUMN processed DROP DEFAULT"},
		id: "outbox.table", status: Fail, detail: "processed has default none", fixes: true},
	{name: "column missing", setup: []string{"ALTER TABLE public.outbox DROP COLUMN headers"},
		id: "outbox.table", status: Fail, detail: "headers is missing", fixes: true},
	{name: "sequence default missing", setup: []string{"ALTER TABLE public.outbox ALTER COLUMN sequence_id DROP DEFAULT"},
		id: "outbox.table", status: Fail, detail: "no default from a sequence", fixes: true, others: []string{"grants.sequence"}},
	{name: "nodes expiry with time zone", setup: []string{"ALTER TABLE public.nodes ALTER COLUMN expiry TYPE timestamptz"},
		id: "nodes.table", status: Fail, detail: "expiry is timestamp with time zone", fixes: true},
	{name: "nodes table missing", setup: []string{"DROP TABLE public.nodes"},
		id: "nodes.table", status: Fail, detail: "does not exist", fixes: true},
	{name: "missing role", params: Params{Role: "no_such_role"},
		id: "role", status: Fail, detail: "does not exist"},
}

func TestDefectsAreReportedAndFixed(t *testing.T) {
	for _, d := range defects {
		t.Run(d.name, func(t *testing.T) {
			db := pgtest.NewDB(t)
			admin := db.Admin(t)
			exec(t, admin, d.setup...)
			checks := check(t, admin, d.params)
			c := find(t, checks, d.id)
			if c.Status != d.status || !strings.Contains(c.Detail, d.detail) {
				t.Fatalf("%s = %s %q, want %s containing %q", d.id, c.Status, c.Detail, d.status, d.detail)
			}
			requireOK(t, checks, append(d.others, d.id)...)
			if Failed(checks) != (d.status == Fail) {
				t.Errorf("Failed = %v with %s %s", Failed(checks), d.id, d.status)
			}
			if !d.fixes {
				return
			}
			if c.Fix == "" {
				t.Fatalf("%s has no fix", d.id)
			}
			exec(t, admin, c.Fix)
			requireOK(t, check(t, admin, d.params))
		})
	}
}

// A missing role is reported alone (no privilege checks) and its fix
// creates it; the privilege checks then report what it lacks.
func TestMissingRoleFix(t *testing.T) {
	db := pgtest.NewDB(t)
	admin := db.Admin(t)
	role := fmt.Sprintf("doctor_role_%d", os.Getpid())
	checks := check(t, admin, Params{Role: role})
	c := find(t, checks, "role")
	if c.Status != Fail || !strings.Contains(c.Fix, "CREATE ROLE") {
		t.Fatalf("role = %s, fix %q; want fail with CREATE ROLE", c.Status, c.Fix)
	}
	for _, got := range checks {
		if strings.HasPrefix(got.ID, "grants.") {
			t.Errorf("privilege check %s reported for a missing role", got.ID)
		}
	}
	exec(t, admin, c.Fix)
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = admin.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = admin.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	})
	checks = check(t, admin, Params{Role: role})
	if got := find(t, checks, "role"); got.Status != OK {
		t.Errorf("after the fix role is %s: %s", got.Status, got.Detail)
	}
	for _, id := range []string{"grants.tables", "grants.sequence"} {
		got := find(t, checks, id)
		if got.Status != Fail {
			t.Errorf("%s for a fresh role is %s, want fail", id, got.Status)
		}
		exec(t, admin, got.Fix)
	}
	requireOK(t, check(t, admin, Params{Role: role}))
}

// A non-public schema without USAGE for the role fails grants.schema.
func TestPrivateSchemaWithoutUsage(t *testing.T) {
	db := pgtest.NewEmptyDB(t)
	admin := db.Admin(t)
	names := schema.Names{OutboxSchema: "app", NodesSchema: "app"}
	if err := schema.Provision(context.Background(), admin, schema.ProvisionParams{Names: names}); err != nil {
		t.Fatal(err)
	}
	exec(t, admin, "REVOKE USAGE ON SCHEMA app FROM livesync_user")
	checks := check(t, admin, Params{Names: names})
	c := find(t, checks, "grants.schema")
	if c.Status != Fail || !strings.Contains(c.Detail, "app") {
		t.Fatalf("grants.schema = %s %q, want fail naming schema app", c.Status, c.Detail)
	}
	requireOK(t, checks, "grants.schema")
	exec(t, admin, c.Fix)
	requireOK(t, check(t, admin, Params{Names: names}))
}
