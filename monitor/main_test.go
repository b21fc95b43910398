package monitor_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pool opens a pool as the connector role on a fresh provisioned database.
func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	p, err := dbconn.Pool(context.Background(), url, "monitor-test", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// exec runs statements on the admin connection, failing the test on error.
func exec(t testing.TB, db *pgtest.DB, stmts ...string) {
	t.Helper()
	conn := db.Admin(t)
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// seedScenario seeds by hand (no connector): a node whose lease expired, a
// live node, a row locked by the dead node (lock not lapsed), a row whose
// lock lapsed under the live node, a rejected row, an unlocked row and a
// processed row. Ids 1..5 in that order of rows (processed first).
func seedScenario(t testing.TB, db *pgtest.DB) {
	t.Helper()
	exec(t, db,
		`INSERT INTO nodes (id, expiry) VALUES
		   ('node-dead', (now() AT TIME ZONE 'utc') - interval '1 minute'),
		   ('node-live', (now() AT TIME ZONE 'utc') + interval '1 minute')`,
		`INSERT INTO outbox (sequence_id, mutation_id, channel, name, data, processed) VALUES (1, 'm1', 'done', 'e', '{}', true)`,
		`INSERT INTO outbox (sequence_id, mutation_id, channel, name, data, locked_by, lock_expiry) VALUES
		   (2, 'm2', 'chan-a', 'e', '{"n":2}', 'node-dead', (now() AT TIME ZONE 'utc') + interval '25 seconds'),
		   (3, 'm3', 'chan-b', 'e', '{"n":3}', 'node-live', (now() AT TIME ZONE 'utc') - interval '10 seconds')`,
		`INSERT INTO outbox (sequence_id, mutation_id, channel, name, data, rejected) VALUES (4, 'm4', 'chan-c', 'e', '{"n":4}', true)`,
		`INSERT INTO outbox (sequence_id, mutation_id, channel, name, data) VALUES (5, 'm5', 'chan-d', 'e', '{"n":5}')`,
		`SELECT setval('outbox_sequence_id_seq', 5)`,
	)
}

func newMonitor(t testing.TB, db *pgtest.DB, opts monitor.Options) *monitor.Monitor {
	t.Helper()
	return monitor.New(newPool(t, db.URL), opts)
}
