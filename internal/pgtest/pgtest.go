// Package pgtest gives test packages a real PostgreSQL: one cluster per test
// binary, started in TestMain from the machine's server binaries, and a fresh
// database per test cloned from a provisioned template (NOTIFY is per
// database, so tests sharing one would wake each other).
//
// The cluster runs as a child of the test binary with a parent-death signal,
// so a killed test binary leaves no server behind. Its default time zone is
// deliberately not UTC: code under test must set its session time zone.
//
// When no server binaries exist the package's tests are skipped, except when
// the CI environment variable is set: then the run fails.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/pgcluster"
	"github.com/livesync-dev/livesync-dev/schema"
)

// TemplateDB is the provisioned template every test database is cloned from.
const TemplateDB = "livesync_template"

// RolePassword is the test role's password.
const RolePassword = "livesync"

// TestTimeZone is the test clusters' default time zone (not UTC on purpose).
const TestTimeZone = "Pacific/Chatham"

// Server is a running test cluster.
type Server struct {
	// Cluster is the data directory and binaries.
	Cluster *pgcluster.Cluster
	// Port is the TCP port on 127.0.0.1.
	Port  int
	child *pgcluster.Child
}

// AdminURL is the superuser URL for database db.
func (s *Server) AdminURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// RoleURL is the livesync_user URL for database db.
func (s *Server) RoleURL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", schema.DefaultRole, RolePassword, s.Port, db)
}

var (
	shared     *Server
	skipReason string
	createMu   sync.Mutex
	dbCounter  atomic.Int64
)

// Main starts the package's cluster, runs the tests and stops it. Call it
// from TestMain: `func TestMain(m *testing.M) { pgtest.Main(m) }`.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := Start(ctx, TestTimeZone)
	cancel()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "pgtest: cannot start PostgreSQL (CI is set, so this fails): %v\n", err)
			return 1
		}
		skipReason = err.Error()
		fmt.Fprintf(os.Stderr, "pgtest: skipping database tests: %v\n", err)
		return m.Run()
	}
	shared = srv
	code := m.Run()
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	srv.Stop(sctx)
	return code
}

// Shared returns the package's cluster, skipping the test when there is none.
func Shared(t testing.TB) *Server {
	t.Helper()
	if shared == nil {
		if skipReason == "" {
			t.Fatal("pgtest: call pgtest.Main(m) from TestMain")
		}
		t.Skipf("no PostgreSQL: %s", skipReason)
	}
	return shared
}

// baseDir makes a directory the server's user can reach.
func baseDir(owner pgcluster.Owner) (string, error) {
	sweep()
	dir, err := os.MkdirTemp("", "livesync-pgtest-")
	if err != nil {
		return "", err
	}
	if err := owner.Chown(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := owner.CheckReachable(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sweep removes test clusters left by killed test binaries long ago.
func sweep() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "livesync-pgtest-*"))
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && time.Since(st.ModTime()) > 6*time.Hour {
			os.RemoveAll(m)
		}
	}
}

// Start initialises and starts a new cluster with the given default time
// zone and a provisioned template database. Use StartCluster in a test that
// needs a cluster of its own (to stop or restart it).
func Start(ctx context.Context, timeZone string) (*Server, error) {
	bin, err := pgcluster.FindBinaries(ctx)
	if err != nil {
		return nil, err
	}
	owner, err := pgcluster.CurrentOwner()
	if err != nil {
		return nil, err
	}
	dir, err := baseDir(owner)
	if err != nil {
		return nil, err
	}
	c := &pgcluster.Cluster{Bin: bin, Base: dir, Owner: owner, TimeZone: timeZone}
	if err := c.Init(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := pgcluster.FreePort()
		if err != nil {
			return nil, err
		}
		srv := &Server{Cluster: c, Port: port}
		if lastErr = srv.start(ctx); lastErr == nil {
			if err := srv.provisionTemplate(ctx); err != nil {
				srv.Stop(ctx)
				return nil, err
			}
			return srv, nil
		}
		if !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// start runs the child server on s.Port and waits for it to accept queries.
func (s *Server) start(ctx context.Context) error {
	child, err := s.Cluster.StartChild(s.Port)
	if err != nil {
		return err
	}
	if err := child.WaitReady(ctx, s.Cluster); err != nil {
		_ = child.Stop(ctx)
		return err
	}
	s.child = child
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := dbconn.Connect(ctx, s.AdminURL("postgres"), "pgtest")
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond) // the server is starting up; no event to await
	}
}

// Stop stops the server and deletes its files.
func (s *Server) Stop(ctx context.Context) {
	if s.child != nil {
		_ = s.child.Stop(ctx)
		s.child = nil
	}
	os.RemoveAll(s.Cluster.Base)
}

// Halt stops the server but keeps its data (for restart tests).
func (s *Server) Halt(ctx context.Context) error {
	if s.child == nil {
		return nil
	}
	err := s.child.Stop(ctx)
	s.child = nil
	return err
}

// Resume starts a halted server again on the same port.
func (s *Server) Resume(ctx context.Context) error { return s.start(ctx) }

func (s *Server) provisionTemplate(ctx context.Context) error {
	conn, err := dbconn.Connect(ctx, s.AdminURL("postgres"), "pgtest")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+TemplateDB); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", schema.DefaultRole, RolePassword)); err != nil {
		return err
	}
	tconn, err := dbconn.Connect(ctx, s.AdminURL(TemplateDB), "pgtest")
	if err != nil {
		return err
	}
	defer tconn.Close(ctx)
	return schema.Provision(ctx, tconn, schema.ProvisionParams{})
}

// StartCluster starts a cluster of the test's own, stopped when it ends.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	Shared(t) // skips the same way when there is no PostgreSQL
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Start(ctx, TestTimeZone)
	if err != nil {
		t.Fatalf("starting a cluster: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Stop(ctx)
	})
	return srv
}

// DB is one test's database.
type DB struct {
	// Server is the cluster that holds it.
	Server *Server
	// Name is the database name.
	Name string
	// URL connects as livesync_user (the connector's documented grants).
	URL string
	// AdminURL connects as the superuser.
	AdminURL string
}

// NewDB creates a fresh, provisioned database for the test on the shared
// cluster and drops it when the test ends.
func NewDB(t testing.TB) *DB {
	t.Helper()
	return NewDBOn(t, Shared(t), TemplateDB)
}

// NewEmptyDB creates a fresh database with no LiveSync objects.
func NewEmptyDB(t testing.TB) *DB {
	t.Helper()
	return NewDBOn(t, Shared(t), "template0")
}

// NewDBOn creates a database on srv cloned from template.
func NewDBOn(t testing.TB, srv *Server, template string) *DB {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbCounter.Add(1))
	conn, err := dbconn.Connect(ctx, srv.AdminURL("postgres"), "pgtest")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	createMu.Lock()
	_, err = conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, pgx.Identifier{template}.Sanitize()))
	createMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	db := &DB{Server: srv, Name: name, URL: srv.RoleURL(name), AdminURL: srv.AdminURL(name)}
	t.Cleanup(func() {
		if srv.child == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := dbconn.Connect(ctx, srv.AdminURL("postgres"), "pgtest")
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return db
}

// Admin opens a superuser connection to the test's database, closed when the
// test ends.
func (db *DB) Admin(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, db.AdminURL, "pgtest")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs statements as the superuser on the test's database, failing the
// test on the first error.
func (db *DB) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	conn := db.Admin(t)
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// SeedStuckScenario seeds an outbox by hand (no connector): a node whose
// lease expired ('node-dead'), a live node ('node-live'), row 1 processed,
// row 2 locked by the dead node (lock not lapsed), row 3 whose lock lapsed
// under the live node, row 4 rejected, row 5 unlocked. The monitor's
// diagnosis tests and the CLI's both start from it.
func (db *DB) SeedStuckScenario(t testing.TB) {
	t.Helper()
	db.Exec(t,
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
