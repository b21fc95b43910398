package schema_test

import (
	"context"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestProvisionCustomNamesIsIdempotentAndExact(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmptyDB(t)
	ctx := context.Background()
	conn := db.Admin(t)
	names := schema.Names{OutboxSchema: "My Schema", OutboxTable: "events", NodesSchema: "ops", NodesTable: "workers"}
	p := schema.ProvisionParams{Names: names}
	for i := 0; i < 2; i++ {
		if err := schema.Provision(ctx, conn, p); err != nil {
			t.Fatalf("provision #%d: %v", i+1, err)
		}
	}
	// The trigger: statement-level AFTER INSERT, named after the docs' pattern.
	var tgtype int16
	err := conn.QueryRow(ctx, `SELECT tgtype FROM pg_trigger WHERE tgrelid = '"My Schema".events'::regclass AND tgname = 'My Schema_events_trigger'`).Scan(&tgtype)
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	const rowLevel, before, insert = 1, 2, 4
	if tgtype&rowLevel != 0 || tgtype&before != 0 || tgtype&insert == 0 {
		t.Fatalf("tgtype %b: want statement-level AFTER INSERT", tgtype)
	}
	var triggers int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_trigger WHERE tgrelid = '"My Schema".events'::regclass AND NOT tgisinternal`).Scan(&triggers); err != nil || triggers != 1 {
		t.Fatalf("%d triggers after two provisions (%v), want 1", triggers, err)
	}
	// Grants, including the sequence and USAGE on both non-public schemas.
	for _, q := range []string{
		`has_table_privilege('livesync_user', '"My Schema".events', 'SELECT, INSERT, UPDATE, DELETE')`,
		`has_table_privilege('livesync_user', 'ops.workers', 'SELECT, INSERT, UPDATE, DELETE')`,
		`has_sequence_privilege('livesync_user', '"My Schema".events_sequence_id_seq', 'USAGE, SELECT')`,
		`has_schema_privilege('livesync_user', 'My Schema', 'USAGE')`,
		`has_schema_privilege('livesync_user', 'ops', 'USAGE')`,
		`NOT has_table_privilege('livesync_user', '"My Schema".events', 'TRUNCATE')`,
	} {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT "+q).Scan(&ok); err != nil || !ok {
			t.Errorf("%s = %v (%v)", q, ok, err)
		}
	}
	var idx int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'My Schema' AND tablename = 'events' AND indexdef LIKE '%WHERE%'`).Scan(&idx); err != nil || idx != len(schema.RecommendedIndexes) {
		t.Fatalf("%d partial indexes (%v), want %d", idx, err, len(schema.RecommendedIndexes))
	}
}

func TestTriggerNotifiesOncePerStatement(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	listener := db.Admin(t)
	if _, err := listener.Exec(ctx, "LISTEN "+schema.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	writer := db.Admin(t)
	if _, err := writer.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name, data) SELECT 'm', 'c', 'n', '{}' FROM generate_series(1, 5)`); err != nil {
		t.Fatal(err)
	}
	n, err := listener.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != schema.NotifyChannel || n.Payload != "" {
		t.Fatalf("notification %+v", n)
	}
	// A second statement notifies again; nothing else is pending before it.
	if _, err := writer.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name) VALUES ('m', 'c', 'n')`); err != nil {
		t.Fatal(err)
	}
	if _, err := listener.WaitForNotification(ctx); err != nil {
		t.Fatal(err)
	}
	// Postgres folds identical notifications of one transaction, so count
	// what arrives for a multi-statement transaction separately is not
	// meaningful; the row-level check is tgtype above.
}

func TestProvisionIsAllOrNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmptyDB(t)
	ctx := context.Background()
	conn := db.Admin(t)
	// A table squatting on the sequence's name makes the last statement (the
	// sequence GRANT) fail after the tables were created in the transaction.
	if _, err := conn.Exec(ctx, `CREATE TABLE public.outbox_sequence_id_seq (x int)`); err != nil {
		t.Fatal(err)
	}
	err := schema.Provision(ctx, conn, schema.ProvisionParams{})
	if err == nil {
		t.Fatal("provision succeeded despite a name clash")
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('outbox', 'nodes')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d LiveSync tables left after a failed provision (%v)", n, err)
	}
}
