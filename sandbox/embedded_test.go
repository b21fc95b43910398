package sandbox

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/pgcluster"
)

// The embedded backend is tested end to end without internet: a local HTTP
// server plays the Maven repository and serves a zonky-style jar built from
// this machine's server binaries. embedded-postgres cannot run as root, so
// as root the backend runs in a copy of this test binary as the postgres
// user (TestEmbeddedHelperProcess).

const helperEnv = "LIVESYNC_EMBEDDED_HELPER"

// TestEmbeddedHelperProcess is not a test: it is the body run as another
// user by TestEmbeddedBackendFromLocalRepository.
func TestEmbeddedHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, repo, version := os.Getenv("HELPER_DIR"), os.Getenv("HELPER_REPO"), os.Getenv("HELPER_VERSION")
	switch mode {
	case "up":
		var progress bytes.Buffer
		st, err := Up(ctx, Options{Dir: dir, Backend: "embedded", PostgresVersion: version, EmbeddedRepository: repo, Progress: &progress})
		if err != nil {
			t.Fatalf("%v\n%s", err, progress.String())
		}
		b, _ := json.Marshal(st)
		fmt.Printf("STATE %s\n", b)
	case "down":
		if _, err := Down(ctx, DownOptions{Dir: dir, Purge: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// buildZonkyJar packs this machine's server binaries the way the zonky jars
// do: a zip holding one .txz with bin/ and lib/.
func buildZonkyJar(t *testing.T, bin pgcluster.Binaries) []byte {
	t.Helper()
	stage := t.TempDir()
	if err := os.MkdirAll(filepath.Join(stage, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
		copyFile(t, filepath.Join(bin.Dir, p), filepath.Join(stage, "bin", p), 0o755)
	}
	libDir := filepath.Join(filepath.Dir(bin.Dir), "lib")
	if err := os.MkdirAll(filepath.Join(stage, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	libs, _ := filepath.Glob(filepath.Join(libDir, "*.so"))
	for _, l := range libs {
		copyFile(t, l, filepath.Join(stage, "lib", filepath.Base(l)), 0o755)
	}
	cmd := exec.Command("sh", "-c", "tar -C '"+stage+"' -cf - bin lib | xz -0 -T1")
	var txz, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &txz, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("packing binaries (needs tar and xz): %v %s", err, stderr.String())
	}
	var jar bytes.Buffer
	zw := zip.NewWriter(&jar)
	w, err := zw.Create("postgres-linux-x86_64.txz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(txz.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return jar.Bytes()
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// serveRepository serves jar for every *.jar path, like a Maven repository.
func serveRepository(t *testing.T, jar []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".jar") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(jar)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func TestEmbeddedBackendFromLocalRepository(t *testing.T) {
	requireNative(t)
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside the helper")
	}
	bin, _ := pgcluster.FindBinaries(context.Background())
	repo := serveRepository(t, buildZonkyJar(t, bin))
	owner, err := pgcluster.CurrentOwner()
	if err != nil {
		t.Fatal(err)
	}
	// A folder the server's user owns and can reach.
	root, err := os.MkdirTemp("", "livesync-embedded-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := owner.Chown(root); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(root, "sandbox.test")
	copyFile(t, self, exe, 0o755)
	project := filepath.Join(root, "project")
	if err := os.Mkdir(project, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := owner.Chown(project); err != nil {
		t.Fatal(err)
	}
	run := func(mode string) string {
		cmd := exec.Command(exe, "-test.run=^TestEmbeddedHelperProcess$", "-test.v")
		cmd.Dir = project
		cmd.Env = append(os.Environ(), helperEnv+"="+mode, "HELPER_DIR="+project, "HELPER_REPO="+repo,
			"HELPER_VERSION="+fmt.Sprint(bin.Major), "HOME="+project)
		if owner.Switch {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(owner.UID), Gid: uint32(owner.GID), NoSetGroups: true}}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper %s: %v\n%s", mode, err, out)
		}
		return string(out)
	}
	out := run("up")
	i := strings.Index(out, "STATE ")
	if i < 0 {
		t.Fatalf("no state in helper output:\n%s", out)
	}
	line, _, _ := strings.Cut(out[i+len("STATE "):], "\n")
	var st State
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run("down") })
	if st.Postgres.Backend != "embedded" || !st.Postgres.Running {
		t.Fatalf("state %+v", st.Postgres)
	}
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, st.Postgres.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tz, commitTS string
	if err := conn.QueryRow(ctx, `SELECT current_setting('TimeZone'), current_setting('track_commit_timestamp')`).Scan(&tz, &commitTS); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('m', 'c', 'n', '{}')`); err != nil {
		t.Fatalf("the embedded database is not provisioned for livesync_user: %v", err)
	}
	if commitTS != "on" {
		t.Errorf("track_commit_timestamp = %s", commitTS)
	}
}
