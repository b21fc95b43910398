package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// TestFaultRefuseBlocksThenClearAndRetry is the must-show, run the
// way a user would: `fault add --channel 'demo:*' --code 40160` makes the
// next row on demo:x blocked with 40160 in `status --json` while other
// channels flow; `fault clear` plus `outbox retry` (the advised action)
// lets it through.
func TestFaultRefuseBlocksThenClearAndRetry(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	s.connector()
	out, stderr, code := runCLI(t, "fault", "add", "--channel", "demo:*", "--code", "40160", "--json")
	if code != 0 {
		t.Fatalf("fault add: exit %d %s", code, stderr)
	}
	var added fault.Active
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.ID == "" || added.Code != 40160 || added.Channel != "demo:*" {
		t.Fatalf("fault add --json printed %q (%v)", out, err)
	}
	row := s.insert("--channel", "demo:x", "--data", `{"n":1}`)[0]
	st, i, took := s.awaitReason(row, "blocked", 15*time.Second)
	t.Logf("demo:x reported blocked %s after the insert", took.Round(time.Millisecond))
	if b := st.Stuck[i]; b.ErrorCode != 40160 || b.Channel != "demo:x" {
		t.Fatalf("blocked entry %+v: want 40160 on demo:x", b)
	} else {
		mustContain(t, "action", b.Action, "fault clear", "outbox retry "+strconv.FormatInt(row, 10))
	}
	s.awaitFlowed("other channels flow", 10*time.Second, s.insert("--channel", "other:x", "--data", `{"n":2}`)...)
	// status shows the rule in force, so nobody forgets it.
	var withFaults struct{ Faults []fault.Active }
	if out, _, _ := runCLI(t, "status", "--json"); json.Unmarshal([]byte(out), &withFaults) != nil || len(withFaults.Faults) != 1 || withFaults.Faults[0].ID != added.ID {
		t.Errorf("status --json faults: %q", out)
	}
	if out, _, _ := runCLI(t, "status"); !strings.Contains(out, "FAULT    "+added.ID+": demo:* refuse 40160") {
		t.Errorf("status lacks the fault line:\n%s", out)
	}

	out, stderr, code = runCLI(t, "fault", "list", "--json")
	var l fault.List
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Faults) != 1 || l.Faults[0].ID != added.ID || l.Faults[0].Hits < 1 {
		t.Fatalf("fault list --json: exit %d %q %s; want the rule with a hit", code, out, stderr)
	}
	if out, _, _ := runCLI(t, "fault", "list"); !strings.Contains(out, "demo:* refuse 40160") {
		t.Errorf("fault list: %q", out)
	}

	out, stderr, code = runCLI(t, "fault", "clear")
	if code != 0 || !strings.Contains(out, "cleared 1 fault rule") {
		t.Fatalf("fault clear: exit %d %q %s", code, out, stderr)
	}
	// Still blocked: a permanent error waits for the user's retry.
	if !s.pending(row) {
		t.Fatal("the blocked row went out without a retry")
	}
	if _, stderr, code := runCLI(t, "outbox", "retry", strconv.FormatInt(row, 10), "--yes"); code != 0 {
		t.Fatalf("outbox retry: exit %d %s", code, stderr)
	}
	took = s.awaitFlowed("demo:x flows after clear + retry", 15*time.Second, row)
	t.Logf("demo:x flowed %s after the retry", took.Round(time.Millisecond))
	if out, _, _ := runCLI(t, "fault", "list", "--json"); strings.TrimSpace(out) != `{"faults":[]}` && !strings.Contains(out, `"faults": []`) {
		t.Errorf("fault list --json after clear: %q", out)
	}
}

// TestFaultCommandErrors: bad rules are usage errors (exit 2) saying what
// to fix; an unknown id and a missing endpoint exit 1.
func TestFaultCommandErrors(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fault", "add", "--channel", "x"}, 2, "injects no fault"},
		{[]string{"fault", "add", "--code", "40160", "--drop"}, 2, "several faults"},
		{[]string{"fault", "add", "--code", "7"}, 2, "not an Ably error code"},
		{[]string{"fault", "add", "--refuse-connections", "5s", "--for", "1s"}, 2, "drop --for"},
		{[]string{"fault", "clear", "f42"}, 1, "no fault rule f42"},
		{[]string{"fault"}, 2, "add, list or clear"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q; want exit %d saying %q", c.args, code, stderr, c.code, c.want)
		}
	}
	s.stopEndpoint()
	if _, stderr, code := runCLI(t, "fault", "list"); code != 1 || !strings.Contains(stderr, "sandbox up") {
		t.Errorf("fault list with the endpoint down: exit %d %q", code, stderr)
	}
}
