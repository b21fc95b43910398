// Package testbin builds the livesync-dev command once per test binary,
// for tests that run it as the user does (the conformance and fault
// suites).
package testbin

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	once sync.Once
	path string
	err  error
	out  []byte
)

// Path builds the command on first use, into a directory any user can
// reach, and returns its path; a failed build fails t.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		var dir, root string
		if dir, err = os.MkdirTemp("", "livesync-dev-bin-"); err != nil {
			return
		}
		if err = os.Chmod(dir, 0o755); err != nil {
			return
		}
		if root, err = moduleRoot(); err != nil {
			return
		}
		path = filepath.Join(dir, "livesync-dev")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", path, ".")
		cmd.Dir = root
		out, err = cmd.CombinedOutput()
	})
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// Remove deletes the built command; call it from TestMain after m.Run.
func Remove() {
	if path != "" {
		_ = os.RemoveAll(filepath.Dir(path))
	}
}

// moduleRoot is the nearest directory at or above the working directory
// (a test's package directory) holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}
