package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/pgcluster"
)

// requireNative skips without server binaries, except under CI.
func requireNative(t *testing.T) {
	t.Helper()
	if _, err := pgcluster.FindBinaries(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but no PostgreSQL binaries: %v", err)
		}
		t.Skip(err)
	}
}

// newProject makes a project folder and purges its sandbox when the test ends.
func newProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = Down(ctx, DownOptions{Dir: dir, Purge: true})
	})
	return dir
}

func up(t *testing.T, dir string, progress *bytes.Buffer) *State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Up(ctx, Options{Dir: dir, Progress: progress})
	if err != nil {
		t.Fatalf("sandbox up: %v\nprogress:\n%s", err, progress)
	}
	return st
}

func TestUpProvisionsAndIsIdempotent(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	var progress bytes.Buffer
	first := up(t, dir, &progress)
	if first.Postgres.Backend != "native" || !first.Postgres.Running {
		t.Fatalf("state after up: %+v", first.Postgres)
	}
	if !strings.Contains(progress.String(), "using the native backend") || !strings.Contains(progress.String(), "skipped compose") {
		t.Errorf("progress does not say which backend was chosen and why others were skipped:\n%s", progress.String())
	}
	if !strings.HasSuffix(first.Postgres.URL, "sslmode=disable") || !strings.Contains(first.Postgres.URL, "@127.0.0.1:") {
		t.Errorf("URL %q is not a loopback TCP URL with sslmode=disable", first.Postgres.URL)
	}
	fi, err := os.Stat(filepath.Join(dir, DirName, StateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sandbox.json mode: %v %v", fi, err)
	}
	gi, err := os.ReadFile(filepath.Join(dir, DirName, ".gitignore"))
	if err != nil || strings.TrimSpace(string(gi)) != "*" {
		t.Fatalf(".gitignore = %q, %v", gi, err)
	}
	pid := newNativeBackend(context.Background(), dir, 0).cluster.PostmasterPID()

	second := up(t, dir, &bytes.Buffer{})
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(second)
	if string(a) != string(b) {
		t.Fatalf("second up changed the state:\n%s\n%s", a, b)
	}
	if pid2 := newNativeBackend(context.Background(), dir, 0).cluster.PostmasterPID(); pid2 != pid {
		t.Fatalf("second up restarted the server: pid %d -> %d", pid, pid2)
	}

	// The role can use the outbox; jsonb rejects non-JSON.
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, second.Postgres.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m1', 'c', 'n', '{"a":1}')`); err != nil {
		t.Fatalf("insert as livesync_user: %v", err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m2', 'c', 'n', 'New comment!')`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
		t.Fatalf("non-JSON data: got %v, want invalid_text_representation", err)
	}
}

func TestDownStopsAndUpRestartsOnSameData(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	st := up(t, dir, &bytes.Buffer{})
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, st.Postgres.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name) VALUES ('keep', 'c', 'n')`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	if _, err := Down(ctx, DownOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	status, err := Status(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if status.Postgres.Running {
		t.Fatal("status says running after down")
	}
	if newNativeBackend(ctx, dir, 0).running(ctx) {
		t.Fatal("server still running after down")
	}

	st2 := up(t, dir, &bytes.Buffer{})
	conn, err = dbconn.Connect(ctx, st2.Postgres.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE mutation_id = 'keep'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("row written before down: count %d, %v", n, err)
	}
}

func TestPurgeDeletesDataAndState(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	st := up(t, dir, &bytes.Buffer{})
	base := filepath.Dir(st.Postgres.DataDir)
	if _, err := Down(context.Background(), DownOptions{Dir: dir, Purge: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(base); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data %s still exists after purge: %v", base, err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrNotFound) {
		t.Fatalf("state after purge: %v", err)
	}
}

func TestStaleServerIsRestartedOnSamePort(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	st := up(t, dir, &bytes.Buffer{})
	b := newNativeBackend(context.Background(), dir, 0)
	pid := b.cluster.PostmasterPID()
	if pid == 0 {
		t.Fatal("no postmaster pid")
	}
	// Simulate a crash: the pid file stays, the process is gone.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	ctx := context.Background()
	status, err := Status(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if status.Postgres.Running {
		t.Fatal("status trusts the file: says running after the server was killed")
	}
	var progress bytes.Buffer
	st2 := up(t, dir, &progress)
	if st2.Postgres.URL != st.Postgres.URL {
		t.Fatalf("restart moved the server: %s -> %s", st.Postgres.URL, st2.Postgres.URL)
	}
	if !strings.Contains(progress.String(), "restarted") {
		t.Errorf("progress does not mention the restart:\n%s", progress.String())
	}
}

// waitGone waits for a killed postmaster and its children to release the
// data directory (they exit when they notice the postmaster died).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil || childrenAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d did not go away", pid)
		}
		time.Sleep(20 * time.Millisecond) // no event for another process's exit
	}
}

func childrenAlive(ppid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 2 && f[1] == itoa(ppid) && f[0] != "Z" {
			return true
		}
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestStatusWithoutSandbox(t *testing.T) {
	t.Parallel()
	_, err := Status(context.Background(), t.TempDir())
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "sandbox up") {
		t.Fatalf("got %v", err)
	}
}

func TestFindWalksParents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &State{Version: 1, dir: dir}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep)
	if err != nil || got != dir {
		t.Fatalf("Find(%s) = %q, %v; want %q", deep, got, err, dir)
	}
}
