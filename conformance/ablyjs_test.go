package conformance

import (
	"bytes"
	"strings"
	"testing"
)

// TestAblyJSConformance runs the ably-js suite (conformance/ablyjs, real npm
// `ably`, msgpack and JSON) against `livesync-dev ably serve`.
func TestAblyJSConformance(t *testing.T) {
	requireNode(t)
	npmCI(t, "ablyjs")
	out := runNode(t, "ablyjs", []string{"LIVESYNC_DEV_BIN=" + binary(t)},
		"--test", "--test-force-exit", "--test-reporter=tap", "conformance.test.mjs")
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
