package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sandboxUp runs `sandbox up --json` in dir and returns the endpoint's pid,
// the postmaster's pid and the key.
func sandboxUp(t *testing.T, dir string) (ablyPID, pgPID int, key string) {
	t.Helper()
	stdout, stderr, err := run(t, dir, 90*time.Second, "sandbox", "up", "--json")
	if err != nil {
		t.Fatalf("sandbox up: %v\n%s", err, stderr)
	}
	var doc struct {
		Postgres struct {
			DataDir string `json:"dataDir"`
		} `json:"postgres"`
		Ably struct {
			PID int    `json:"pid"`
			Key string `json:"key"`
		} `json:"ably"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("up --json: %v\n%s", err, stdout)
	}
	return doc.Ably.PID, postmasterPID(t, doc.Postgres.DataDir), doc.Ably.Key
}

// waitDead polls until pid is gone or a zombie (no event for another
// process's exit).
func waitDead(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still running", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDamagedStateFileStrandsNothing (issue 12, item 3): with sandbox.json
// truncated, commands say it is damaged, `sandbox down` stops the endpoint
// and Postgres of this folder, and a sandbox started while the file was
// deleted does not strand the first endpoint either.
func TestDamagedStateFileStrandsNothing(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { run(t, dir, 2*time.Minute, "sandbox", "down", "--purge") })
	ablyPID, pgPID, _ := sandboxUp(t, dir)
	state := filepath.Join(dir, ".livesync", "sandbox.json")
	if err := os.Truncate(state, 25); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"insert", "--channel", "c", "--name", "n"}, {"outbox", "list"}} {
		_, stderr, err := run(t, dir, 30*time.Second, args...)
		if err == nil || !strings.Contains(stderr, "damaged") || !strings.Contains(stderr, "sandbox down") {
			t.Errorf("%v with a damaged state: err %v, stderr %q; want it called damaged with `sandbox down` as advice", args, err, stderr)
		}
	}
	if _, stderr, err := run(t, dir, 60*time.Second, "sandbox", "down"); err != nil {
		t.Fatalf("down with a damaged state: %v\n%s", err, stderr)
	}
	waitDead(t, "ably endpoint", ablyPID)
	waitDead(t, "postgres", pgPID)

	// The old advice: delete the file and start again. The first endpoint
	// (left from this up) must still be stopped by down --purge.
	first, _, _ := sandboxUp(t, dir)
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	second, _, _ := sandboxUp(t, dir)
	if first == second {
		t.Fatalf("second up reused pid %d", first)
	}
	if _, stderr, err := run(t, dir, 60*time.Second, "sandbox", "down", "--purge"); err != nil {
		t.Fatalf("down --purge: %v\n%s", err, stderr)
	}
	waitDead(t, "first endpoint", first)
	waitDead(t, "second endpoint", second)
}

// TestKeyStaysOffCommandLineAndPurgeRemovesIt (issue 12, item 5): the
// endpoint's key is not on its command line, and after `down --purge`
// nothing under .livesync holds it.
func TestKeyStaysOffCommandLineAndPurgeRemovesIt(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { run(t, dir, 2*time.Minute, "sandbox", "down", "--purge") })
	pid, _, key := sandboxUp(t, dir)
	_, secret, ok := strings.Cut(key, ":")
	if !ok || len(secret) < 8 {
		t.Fatalf("key %q has no secret", key)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cmdline, []byte(secret)) {
		t.Fatalf("the key secret is on the endpoint's command line: %q", cmdline)
	}
	if _, stderr, err := run(t, dir, 60*time.Second, "sandbox", "down", "--purge"); err != nil {
		t.Fatalf("down --purge: %v\n%s", err, stderr)
	}
	err = filepath.Walk(filepath.Join(dir, ".livesync"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the key secret after down --purge", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
