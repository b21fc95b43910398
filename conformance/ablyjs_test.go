package conformance

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestAblyJSConformance runs the ably-js suite (conformance/ablyjs, real npm
// `ably`, msgpack and JSON) against `livesync-dev ably serve`.
func TestAblyJSConformance(t *testing.T) {
	requireNode(t)
	npmCI(t, "ablyjs")
	args := []string{"--test", "--test-reporter=tap", "conformance.test.mjs"}
	if nodeHasFlag(t, "--test-force-exit") {
		// ably-js's ping leaves a 10 s timer behind; Node >= 20.14 can skip it.
		args = append([]string{"--test-force-exit"}, args...)
	}
	out := runNode(t, "ablyjs", []string{"LIVESYNC_DEV_BIN=" + binary(t)}, args...)
	var pass, fail string
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		if v, ok := strings.CutPrefix(line, "# pass "); ok {
			pass = v
		}
		if v, ok := strings.CutPrefix(line, "# fail "); ok {
			fail = v
		}
	}
	t.Logf("ably-js conformance: %s passed, %s failed", pass, fail)
	if fail != "0" || pass == "" || pass == "0" {
		t.Fatalf("ably-js conformance: pass %q fail %q\n%s", pass, fail, out)
	}
}

// nodeHasFlag reports whether this Node.js accepts a command-line flag.
func nodeHasFlag(t *testing.T, flag string) bool {
	t.Helper()
	return exec.Command(requireNode(t), flag, "-e", "0").Run() == nil
}
