package faultsuite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoHeadless: `livesync-dev demo --headless` on a fresh folder exits
// 0 with one line per step, each ok.
func TestDemoHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs a whole sandbox; skipped with -short")
	}
	e := &env{t: t, dir: t.TempDir()}
	t.Cleanup(func() { _, _, _ = e.try(2*time.Minute, "sandbox", "down", "--purge") })
	out, stderr, err := e.try(5*time.Minute, "demo", "--headless")
	if err != nil {
		t.Fatalf("demo --headless: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[9], "demo finished") {
		t.Fatalf("demo printed %d lines, want 9 steps and the finish:\n%s", len(lines), out)
	}
	for _, l := range lines[:9] {
		if !strings.Contains(l, " ok ") {
			t.Errorf("step line %q is not ok", l)
		}
	}
	t.Logf("demo --headless:\n%s", out)
	if _, err := os.Stat(filepath.Join(e.dir, ".livesync", "sandbox.json")); err != nil {
		t.Errorf("the demo's sandbox state is gone: %v", err)
	}
}
