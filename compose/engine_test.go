package compose

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEngineAvailableWithoutEngine(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on this machine")
	}
	ok, reason := EngineAvailable(context.Background(), "")
	if ok {
		t.Skip("a Docker engine answers on this machine")
	}
	if !strings.Contains(reason, "engine") {
		t.Errorf("reason %q does not mention the engine", reason)
	}
}

func TestEngineAvailableCLINotFound(t *testing.T) {
	ok, reason := EngineAvailable(context.Background(), filepath.Join(t.TempDir(), "no-such-docker"))
	if ok || !strings.Contains(reason, "not found") {
		t.Errorf("EngineAvailable = %v, %q; want false, not found", ok, reason)
	}
	ok, reason = ComposeAvailable(context.Background(), filepath.Join(t.TempDir(), "no-such-docker"))
	if ok || !strings.Contains(reason, "not found") {
		t.Errorf("ComposeAvailable = %v, %q; want false, not found", ok, reason)
	}
}

// fakeDocker is a stand-in docker CLI (a shell script) that logs its
// arguments and selected variables to a file and answers like the real one.
// No Docker engine runs on the development machines, so this is how the
// runner's command lines are checked.
const fakeDocker = `#!/bin/sh
printf '%s|%s\n' "$*" "$LIVESYNC_PG_PORT" >> "$FAKE_DOCKER_LOG"
case "$1" in
info)
  if [ -n "$FAKE_ENGINE" ]; then echo 27.3.1; exit 0; fi
  echo "" ; echo "Cannot connect to the Docker daemon at unix:///fake.sock. Is the docker daemon running?" >&2; exit 1 ;;
compose)
  if [ "$2" = version ]; then
    [ -n "$FAKE_COMPOSE" ] && { echo "Docker Compose version v2.29.0"; exit 0; }
    echo "docker: unknown command: docker compose" >&2; exit 1
  fi
  case "$6" in
  port) echo "127.0.0.1:54321"; exit 0 ;;
  up) [ -f "$5" ] || { echo "no compose file at $5" >&2; exit 1; }
      [ -n "$FAKE_UP_FAIL" ] && { echo "Error response from daemon: pull access denied for postgres" >&2; exit 1; }
      echo "Container x-postgres-1 Healthy" >&2; exit 0 ;;
  down) exit 0 ;;
  esac ;;
esac
exit 3
`

func fake(t *testing.T) (docker, log string) {
	t.Helper()
	dir := t.TempDir()
	docker = filepath.Join(dir, "docker")
	if err := os.WriteFile(docker, []byte(fakeDocker), 0o755); err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(dir, "calls.log")
	t.Setenv("FAKE_DOCKER_LOG", log)
	return docker, log
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestEngineAvailableFake(t *testing.T) {
	docker, _ := fake(t)
	ok, reason := EngineAvailable(context.Background(), docker)
	if ok || reason != "no Docker engine answering: Cannot connect to the Docker daemon at unix:///fake.sock. Is the docker daemon running?" {
		t.Errorf("no engine: %v, %q", ok, reason)
	}
	t.Setenv("FAKE_ENGINE", "1")
	if ok, reason := EngineAvailable(context.Background(), docker); !ok || reason != "" {
		t.Errorf("engine answering: %v, %q", ok, reason)
	}
	if ok, reason := ComposeAvailable(context.Background(), docker); ok || !strings.Contains(reason, "compose plugin not available") {
		t.Errorf("no compose plugin: %v, %q", ok, reason)
	}
	t.Setenv("FAKE_COMPOSE", "1")
	if ok, _ := ComposeAvailable(context.Background(), docker); !ok {
		t.Error("compose plugin present but ComposeAvailable = false")
	}
}

func TestRunnerCommandLines(t *testing.T) {
	docker, log := fake(t)
	dir := filepath.Join(t.TempDir(), ".livesync", "compose")
	r := Runner{Project: "livesync-test", Dir: dir, Docker: docker, Env: map[string]string{EnvPostgresPort: "15432"}}
	ctx := context.Background()
	if err := r.Up(ctx, Postgres); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil || string(written) != string(File()) {
		t.Fatalf("compose file not written to %s: %v", dir, err)
	}
	port, err := r.Port(ctx, Postgres, 5432)
	if err != nil || port != 54321 {
		t.Errorf("Port = %d, %v; want 54321", port, err)
	}
	if err := r.Down(ctx, true); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, FileName)
	want := []string{
		"compose -p livesync-test -f " + f + " up -d --wait postgres|15432",
		"compose -p livesync-test -f " + f + " port postgres 5432|15432",
		"compose -p livesync-test -f " + f + " down -v|15432",
	}
	if got := calls(t, log); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("docker calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRunnerErrors(t *testing.T) {
	docker, _ := fake(t)
	t.Setenv("FAKE_UP_FAIL", "1")
	r := Runner{Project: "p", Dir: t.TempDir(), Docker: docker}
	err := r.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pull access denied") {
		t.Errorf("Up error %v, want the CLI's message", err)
	}
	r.Docker = filepath.Join(t.TempDir(), "missing")
	if err := r.Down(context.Background(), false); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Down with a missing CLI: %v, want not found", err)
	}
	if err := (Runner{Dir: t.TempDir()}).Down(context.Background(), false); err == nil {
		t.Error("Runner without a Project ran")
	}
}
