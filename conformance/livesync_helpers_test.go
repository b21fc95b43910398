package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveSyncDir is the npm project of the LiveSync end-to-end scripts.
const liveSyncDir = "livesync"

// liveSync is a running sandbox plus one `connector run` process.
type liveSync struct {
	Dir         string // project folder holding .livesync/sandbox.json
	SandboxJSON string // path of .livesync/sandbox.json
	State       struct {
		Postgres struct {
			URL string `json:"url"`
		} `json:"postgres"`
		Ably struct {
			Host string `json:"host"`
			Port int    `json:"port"`
			TLS  bool   `json:"tls"`
			Key  string `json:"key"`
		} `json:"ably"`
	}
	Connector *syncBuffer // the connector's stderr
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lsd runs the livesync-dev binary in dir and returns stdout; it fails tb
// when the command fails or outlives timeout.
func lsd(tb testing.TB, bin, dir string, timeout time.Duration, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ABLY_API_KEY=", "LIVESYNC_CONFIG=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		tb.Fatalf("livesync-dev %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// startLiveSync brings a sandbox up in a fresh temporary folder (with
// config as its livesync.yaml when not empty), starts `connector run` in
// the background and registers cleanup: the connector gets SIGINT by pid
// and is waited for, then `sandbox down --purge`. The connector's stderr is
// logged when the test fails.
func startLiveSync(tb testing.TB, bin, config string) *liveSync {
	tb.Helper()
	ls := &liveSync{Dir: tb.TempDir(), Connector: &syncBuffer{}}
	ls.SandboxJSON = filepath.Join(ls.Dir, ".livesync", "sandbox.json")
	if config != "" {
		if err := os.WriteFile(filepath.Join(ls.Dir, "livesync.yaml"), []byte(config), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "sandbox", "down", "--purge")
		cmd.Dir = ls.Dir
		cmd.Env = append(os.Environ(), "ABLY_API_KEY=", "LIVESYNC_CONFIG=")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Errorf("sandbox down --purge: %v\n%s", err, out)
		}
	})
	out := lsd(tb, bin, ls.Dir, 2*time.Minute, "sandbox", "up", "--json")
	if err := json.Unmarshal([]byte(out), &ls.State); err != nil {
		tb.Fatalf("sandbox up --json printed %q: %v", out, err)
	}
	if ls.State.Postgres.URL == "" || ls.State.Ably.Port == 0 || ls.State.Ably.Key == "" {
		tb.Fatalf("sandbox up --json lacks postgres.url or the local ably endpoint:\n%s", out)
	}

	cmd := exec.Command(bin, "connector", "run", "--health-addr", "127.0.0.1:0")
	cmd.Dir = ls.Dir
	cmd.Env = append(os.Environ(), "ABLY_API_KEY=", "LIVESYNC_CONFIG=")
	cmd.Stderr = ls.Connector
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start connector: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		select {
		case err := <-exited:
			tb.Errorf("connector (pid %d) exited early: %v", cmd.Process.Pid, err)
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				tb.Errorf("connector (pid %d) did not stop within 20s of SIGINT", cmd.Process.Pid)
			}
		}
		if tb.Failed() {
			tb.Logf("connector stderr:\n%s", ls.Connector.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(ls.Connector.String(), " running; ") {
		select {
		case err := <-exited:
			exited <- err // let cleanup report it too
			tb.Fatalf("connector exited before it was running: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("connector not running after 30s")
		}
	}
	return ls
}

// lastJSONLine decodes the last non-empty line of a script's stdout.
func lastJSONLine(tb testing.TB, out []byte, v any) {
	tb.Helper()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		tb.Fatalf("script output is not a JSON summary line: %v\n%s", err, out)
	}
}

// nodeScript runs a script of the livesync project against ls and returns
// its stdout; env adds to the process environment.
func nodeScript(tb testing.TB, ls *liveSync, script string, env ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = liveSyncDir
	cmd.Env = append(append(os.Environ(), "SANDBOX_JSON="+ls.SandboxJSON), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		tb.Logf("node %s stderr:\n%s", script, stderr.String())
	}
	return stdout.Bytes()
}
