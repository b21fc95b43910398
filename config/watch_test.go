package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type delivery struct {
	cfg *Config
	err error
}

// startWatch runs watch on path and returns its deliveries; it returns once
// the watch is in place, so edits made afterwards are seen.
func startWatch(t *testing.T, path string) <-chan delivery {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan delivery, 16)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- watch(ctx, Source{File: path}, 20*time.Millisecond, func(c *Config, err error) {
			out <- delivery{c, err}
		}, func() { close(ready) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch failed to start: %v", err)
	}
	return out
}

// next waits for a delivery that satisfies ok, failing after a generous
// timeout; deliveries of intermediate states are skipped.
func next(t *testing.T, ch <-chan delivery, what string, ok func(delivery) bool) delivery {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case d := <-ch:
			if d.err != nil && d.cfg != nil {
				t.Fatalf("a delivery carries both a config and an error: %v", d.err)
			}
			if ok(d) {
				return d
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// replaceFile saves text the way editors do: a new file renamed over the old.
func replaceFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".swp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatchDeliversValidThenInvalidConfig(t *testing.T) {
	path := writeFile(t, "connector:\n  nodes: 1\n")
	ch := startWatch(t, path)

	// An in-place edit with a new valid value is delivered.
	if err := os.WriteFile(path, []byte("connector:\n  nodes: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	next(t, ch, "nodes: 3", func(d delivery) bool { return d.err == nil && d.cfg.Connector.Nodes == 3 })

	// A save by rename with an invalid value delivers the error, no config.
	replaceFile(t, path, "connector:\n  nodes: 3\n  batchSize: 0\n")
	d := next(t, ch, "the batchSize error", func(d delivery) bool { return d.err != nil })
	var ve *ValidationError
	if !errors.As(d.err, &ve) || ve.Line != 3 || ve.Key != "connector.batchSize" {
		t.Errorf("error %v, want connector.batchSize at line 3", d.err)
	}

	// Fixing the file back to the last good values is delivered again, so
	// the caller learns the error is gone.
	replaceFile(t, path, "connector:\n  nodes: 3\n")
	next(t, ch, "the fixed config", func(d delivery) bool { return d.err == nil && d.cfg.Connector.Nodes == 3 })
}

func TestWatchIgnoresOtherFiles(t *testing.T) {
	path := writeFile(t, "connector:\n  nodes: 1\n")
	ch := startWatch(t, path)
	// A sibling file changes first, then ours; the only delivery is ours.
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "other.yaml"), []byte("connector: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, "connector:\n  nodes: 2\n")
	d := next(t, ch, "nodes: 2", func(delivery) bool { return true })
	if d.err != nil || d.cfg.Connector.Nodes != 2 {
		t.Errorf("first delivery = %+v, want nodes 2", d)
	}
}

func TestWatchFailsForMissingDirectory(t *testing.T) {
	err := Watch(context.Background(), Source{File: filepath.Join(t.TempDir(), "gone", "livesync.yaml")}, 0, func(*Config, error) {})
	if err == nil {
		t.Fatal("watching a missing directory must fail at once")
	}
}
