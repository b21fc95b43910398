package pgtest

import (
	"context"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDBIsProvisionedAndIsolated(t *testing.T) {
	t.Parallel()
	a, b := NewDB(t), NewDB(t)
	if a.Name == b.Name {
		t.Fatalf("two tests got the same database %q", a.Name)
	}
	ctx := context.Background()
	ca := a.Admin(t)
	if _, err := ca.Exec(ctx, "INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m', 'c', 'n', '{}')"); err != nil {
		t.Fatalf("insert into the provisioned outbox: %v", err)
	}
	var n int
	if err := b.Admin(t).QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database b sees %d rows written to database a", n)
	}
}

func TestServerTimeZoneIsNotUTCButSessionsAre(t *testing.T) {
	t.Parallel()
	db := NewDB(t)
	ctx := context.Background()
	var server, session string
	conn := db.Admin(t)
	if err := conn.QueryRow(ctx, "SELECT setting FROM pg_file_settings WHERE name = 'timezone' AND applied").Scan(&server); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SHOW TimeZone").Scan(&session); err != nil {
		t.Fatal(err)
	}
	if server != TestTimeZone || session != "UTC" {
		t.Fatalf("server default %q (want %q), session %q (want UTC)", server, TestTimeZone, session)
	}
}
