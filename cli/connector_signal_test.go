package cli

import (
	"strings"
	"testing"
)

// TestConnectorSignalRefusals: `connector kill|pause|resume` find nodes
// through the sandbox's registry and refuse what they must not signal:
// no node registered, an unknown id, a node of this very process. (The
// fault suite kills, pauses and resumes real `connector run` processes.)
func TestConnectorSignalRefusals(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	if _, stderr, code := runCLI(t, "connector", "kill", "abc"); code != 1 || !strings.Contains(stderr, "no connector node of this sandbox") {
		t.Errorf("kill with no node: exit %d %q", code, stderr)
	}
	s.connector() // runs in this test process
	if _, stderr, code := runCLI(t, "connector", "pause", "zzz"); code != 2 || !strings.Contains(stderr, `no connector node "zzz"`) {
		t.Errorf("pause of an unknown node: exit %d %q", code, stderr)
	}
	var id string
	for _, c := range s.status().Connectors {
		id = c.Node
	}
	if id == "" {
		t.Fatal("status lists no node of ours")
	}
	if _, stderr, code := runCLI(t, "connector", "kill", id[:8]); code != 1 || !strings.Contains(stderr, "runs in this very process") {
		t.Errorf("kill of a node of this process: exit %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "connector", "resume"); code != 2 {
		t.Errorf("resume without NODE: exit %d %q", code, stderr)
	}
}
