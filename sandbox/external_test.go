package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/pgcluster"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func upErr(t *testing.T, opts Options) (*State, string, error) {
	t.Helper()
	var progress bytes.Buffer
	opts.Progress = &progress
	if opts.Dir == "" {
		opts.Dir = newProject(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Up(ctx, opts)
	return st, progress.String(), err
}

func TestExternalProvisionCreatesSchema(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmptyDB(t)
	st, progress, err := upErr(t, Options{PgURL: db.AdminURL, Provision: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if st.Postgres.Backend != "external" || st.Postgres.URL != db.AdminURL || st.Postgres.DataDir != "" {
		t.Fatalf("state: %+v", st.Postgres)
	}
	var n int
	if err := db.Admin(t).QueryRow(context.Background(), "SELECT count(*) FROM pg_trigger WHERE tgname = 'public_outbox_trigger'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("trigger count %d, %v", n, err)
	}
}

func TestExternalWithoutProvisionChangesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmptyDB(t)
	if _, progress, err := upErr(t, Options{PgURL: db.AdminURL}); err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	var exists bool
	if err := db.Admin(t).QueryRow(context.Background(), "SELECT to_regclass('public.outbox') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("outbox created without --provision: %v %v", exists, err)
	}
}

func TestExternalProvisionWithoutPrivilege(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmptyDB(t)
	ctx := context.Background()
	admin := db.Admin(t)
	role := "weak_" + db.Name
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'weak'", role)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE "+role) })
	if _, err := admin.Exec(ctx, "REVOKE CREATE ON SCHEMA public FROM PUBLIC"); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://%s:weak@127.0.0.1:%d/%s?sslmode=disable", role, db.Server.Port, db.Name)
	_, _, err := upErr(t, Options{PgURL: url, Provision: true})
	if err == nil || !strings.Contains(err.Error(), "insufficient privilege") || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("want an insufficient-privilege error with a fix, got %v", err)
	}
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT to_regclass('public.nodes') IS NOT NULL OR to_regclass('public.outbox') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("half-written schema left behind: %v %v", exists, err)
	}
}

func TestExternalBadURLs(t *testing.T) {
	t.Parallel()
	port, _ := pgcluster.FreePort()
	for name, tc := range map[string]struct{ url, want string }{
		"malformed":   {"postgres://a:b@host:notaport/db", "invalid Postgres URL"},
		"unreachable": {fmt.Sprintf("postgres://x@127.0.0.1:%d/db?sslmode=disable", port), "connection refused"},
	} {
		_, _, err := upErr(t, Options{PgURL: tc.url})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q in the error, got %v", name, tc.want, err)
		}
		if err != nil && strings.Contains(err.Error(), ":b@") {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
}

func TestFixedPortInUse(t *testing.T) {
	requireNative(t)
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	dir := newProject(t)
	_, _, err = upErr(t, Options{Dir: dir, PostgresPort: port})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("want a port-in-use error, got %v", err)
	}
	owner, _ := pgcluster.CurrentOwner()
	if _, err := os.Stat(nativeBase(dir, owner)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed first up left its cluster behind: %v", err)
	}
}

func TestNoBackendSaysWhatWasTried(t *testing.T) {
	// Not parallel: replaces the binary finder.
	old := findBinaries
	findBinaries = func(context.Context) (pgcluster.Binaries, error) {
		return pgcluster.Binaries{}, pgcluster.ErrNoBinaries
	}
	defer func() { findBinaries = old }()
	_, _, err := upErr(t, Options{Dir: t.TempDir(), Docker: "/nonexistent/docker"})
	if !errors.Is(err, ErrNoBackend) {
		t.Fatalf("want ErrNoBackend, got %v", err)
	}
	for _, want := range []string{"compose:", "native:", "embedded:", "apt-get install postgresql"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
