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

// waitFor polls the screen until every want appears (a terminal has no
// event to await) and returns it.
func (s *tmuxSession) waitFor(timeout time.Duration, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		missing := ""
		for _, w := range want {
			if !strings.Contains(scr, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen lacks %q after %v:\n%s", missing, timeout, scr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitGone polls until text is no longer on the screen.
func (s *tmuxSession) waitGone(timeout time.Duration, text string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Contains(s.screen(), text) {
		if time.Now().After(deadline) {
			s.t.Fatalf("screen still shows %q after %v:\n%s", text, timeout, s.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screen()
		if id := nodeID(scr); id != "" && id != oldNode && !strings.Contains(scr, "running config kept") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connector node was not restarted after a connector setting changed:\n%s", scr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	s.keys("?")
	s.waitFor(10*time.Second, "Help")
	s.keys("Escape")
	// A key sent right after Escape would arrive as Alt+key: wait for the
	// overlay to close first.
	s.waitGone(10*time.Second, "Help")
	s.keys("q")
	deadline = time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(exitFile)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			if strings.TrimSpace(string(b)) != "0" {
				t.Fatalf("livesync-dev up exited with status %s; screen:\n%s", b, s.screen())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("up did not exit after q; screen:\n%s", s.screen())
		}
		time.Sleep(100 * time.Millisecond)
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
