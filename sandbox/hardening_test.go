package sandbox

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/livesync-dev/livesync-dev/dbconn"
)

// TestDamagedStateSaysSo: a truncated sandbox.json is reported as damaged
// (not "no sandbox found"), with `sandbox down` as the advice.
func TestDamagedStateSaysSo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &State{Version: 1, dir: dir, Postgres: PostgresState{URL: "postgres://x@127.0.0.1:1/db?sslmode=disable"}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DirName, StateFile)
	if err := os.Truncate(path, 20); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFrom(filepath.Join(dir))
	if !errors.Is(err, ErrDamaged) || errors.Is(err, ErrNotFound) {
		t.Fatalf("LoadFrom on a truncated file = %v, want ErrDamaged", err)
	}
	for _, want := range []string{path, "damaged", "sandbox down"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Save leaves no temp files beside the state.
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, DirName))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
	if _, err := Load(dir); err != nil {
		t.Fatalf("state rewritten atomically does not load: %v", err)
	}
}

// TestDownRecoversFromDamagedState: with sandbox.json truncated, `sandbox
// down` still stops the folder's Postgres (found by its postmaster.pid), and
// `sandbox up` then starts again on the same data.
func TestDownRecoversFromDamagedState(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	up(t, dir, &bytes.Buffer{})
	ctx := context.Background()
	b := newNativeBackend(ctx, dir, 0)
	pid := b.cluster.PostmasterPID()
	if pid == 0 {
		t.Fatal("no postmaster pid")
	}
	if err := os.Truncate(filepath.Join(dir, DirName, StateFile), 10); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Down(ctx, DownOptions{Dir: dir, Progress: &out}); err != nil {
		t.Fatalf("down with a damaged state: %v\n%s", err, out.String())
	}
	waitGone(t, pid)
	if b.running(ctx) {
		t.Fatal("Postgres still running after down")
	}
	if !strings.Contains(out.String(), "damaged") || !strings.Contains(out.String(), "stopped") {
		t.Errorf("down output does not say what it recovered:\n%s", out.String())
	}
	up(t, dir, &bytes.Buffer{})
}

// TestSandboxRefusesWrongPassword: livesync_user must give its password
// (scram-sha-256), as in production; a wrong one is refused.
func TestSandboxRefusesWrongPassword(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	st := up(t, dir, &bytes.Buffer{})
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, st.Postgres.URL, "test")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	conn.Close(ctx)
	u, err := url.Parse(st.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"wrong", ""} {
		u.User = url.UserPassword("livesync_user", pw)
		if pw == "" {
			u.User = url.User("livesync_user")
		}
		conn, err := dbconn.Connect(ctx, u.String(), "test")
		if err == nil {
			conn.Close(ctx)
			t.Fatalf("password %q accepted for livesync_user", pw)
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			if !strings.Contains(err.Error(), "password") {
				t.Errorf("password %q: %v, want a password authentication failure", pw, err)
			}
		}
	}
}
