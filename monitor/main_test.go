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
func exec(t testing.TB, db *pgtest.DB, stmts ...string) { db.Exec(t, stmts...) }

// seedScenario seeds the stuck-row scenario (see pgtest.SeedStuckScenario).
func seedScenario(t testing.TB, db *pgtest.DB) { db.SeedStuckScenario(t) }

func newMonitor(t testing.TB, db *pgtest.DB, opts monitor.Options) *monitor.Monitor {
	t.Helper()
	return monitor.New(newPool(t, db.URL), opts)
}
