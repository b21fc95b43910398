package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a program in a detached tmux session on a private
// server socket, like a person at a terminal.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but tmux is missing: %v", err)
		}
		t.Skipf("tmux not installed: %v", err)
	}
}

func startTmux(t *testing.T, dir string, width, height int, command string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, socket: fmt.Sprintf("livesync-test-%d", os.Getpid()), name: "dash"}
	cmd := exec.Command("tmux", "-L", s.socket, "-f", "/dev/null", "new-session", "-d", "-s", s.name,
		"-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "-c", dir, command)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "ABLY_API_KEY=", "LIVESYNC_CONFIG=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

// screen returns the visible pane text.
func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "-L", s.socket, "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// until polls cond until it holds (a terminal has no event to await),
// failing the test with what and the screen after timeout.
func (s *tmuxSession) until(timeout time.Duration, what string, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if cond(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not after %v; screen:\n%s", what, timeout, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor waits until every want is on the screen and returns it.
func (s *tmuxSession) waitFor(timeout time.Duration, want ...string) string {
	s.t.Helper()
	return s.until(timeout, fmt.Sprintf("screen shows %q", want), func(scr string) bool {
		for _, w := range want {
			if !strings.Contains(scr, w) {
				return false
			}
		}
		return true
	})
}

// waitGone waits until text is no longer on the screen.
func (s *tmuxSession) waitGone(timeout time.Duration, text string) {
	s.t.Helper()
	s.until(timeout, fmt.Sprintf("screen no longer shows %q", text), func(scr string) bool { return !strings.Contains(scr, text) })
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	args := append([]string{"-L", s.socket, "send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys %v: %v %s", keys, err, out)
	}
}

// TestDashboardEndToEnd runs `livesync-dev up` in tmux against the real
// sandbox: the dashboard shows the outbox and node leases, a row inserted
// from another terminal appears, `?` shows help, `q` exits 0 and the
// sandbox's Postgres is stopped.
func TestDashboardEndToEnd(t *testing.T) {
	requireTmux(t)
	bin := binary(t)
	dir := t.TempDir()
	t.Cleanup(func() { run(t, dir, 2*time.Minute, "sandbox", "down", "--purge") })
	exitFile := filepath.Join(dir, "exit-status")
	s := startTmux(t, dir, 120, 40, fmt.Sprintf("%s up; echo $? > %s", bin, exitFile))
	s.waitFor(2*time.Minute, "Outbox", "Nodes", "Channels")

	if _, serr, err := run(t, dir, time.Minute, "insert", "--channel", "demo:check", "--name", "hello-from-check", "--data", `{"x":1}`); err != nil {
		t.Fatalf("insert: %v %s", err, serr)
	}
	s.waitFor(30*time.Second, "hello-from-check")

	// Hot reload: an invalid livesync.yaml is shown while the running
	// config stays; a valid connector change restarts the node (new id).
	scr := s.waitFor(10*time.Second, "Nodes")
	oldNode := nodeID(scr)
	if oldNode == "" {
		t.Fatalf("no node id on screen:\n%s", scr)
	}
	cfgPath := filepath.Join(dir, "livesync.yaml")
	if err := os.WriteFile(cfgPath, []byte("connector:\n  batchSize: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(20*time.Second, "running config kept")
	if err := os.WriteFile(cfgPath, []byte("connector:\n  batchSize: 50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.until(30*time.Second, "the connector node restarted after a connector setting changed", func(scr string) bool {
		id := nodeID(scr)
		return id != "" && id != oldNode && !strings.Contains(scr, "running config kept")
	})

	s.keys("?")
	s.waitFor(10*time.Second, "Help")
	s.keys("Escape")
	// A key sent right after Escape would arrive as Alt+key: wait for the
	// overlay to close first.
	s.waitGone(10*time.Second, "Help")
	s.keys("q")
	status := ""
	s.until(time.Minute, "up exited after q", func(string) bool {
		b, _ := os.ReadFile(exitFile)
		status = strings.TrimSpace(string(b))
		return status != ""
	})
	if status != "0" {
		t.Fatalf("livesync-dev up exited with status %s; screen:\n%s", status, s.screen())
	}
	out, _, err := run(t, dir, 30*time.Second, "sandbox", "status", "--json")
	if err != nil || !strings.Contains(out, `"running": false`) {
		t.Fatalf("after q the sandbox Postgres should be stopped: %v\n%s", err, out)
	}
}

var uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// nodeID returns the first node id on the overview's Nodes line.
func nodeID(screen string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Nodes ") {
			return uuidRe.FindString(line)
		}
	}
	return ""
}
