package faultsuite

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// sandboxState is what sandbox.json holds.
type sandboxState = sandbox.State

// scenario is one fault: inject it into the running sandbox, and return
// what heals it (nil when the system must heal itself).
type scenario struct {
	name   string
	nodes  int
	inject func(e *env, cs []*connector, channels []string) (heal func())
	// stall adds a subscriber that stops reading until the endpoint
	// disconnects it (80020); see stall_test.go.
	stall bool
}

// faultAdd runs `fault add` with args and returns the rule's id.
func faultAdd(e *env, args ...string) string {
	e.t.Helper()
	var a fault.Active
	out := e.run(30*time.Second, append([]string{"fault", "add", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		e.t.Fatalf("fault add --json: %v\n%s", err, out)
	}
	return a.ID
}

// after waits d, then heals with fn: the fault lasts d.
func after(d time.Duration, fn func()) func() {
	return func() { time.Sleep(d); fn() }
}

func scenarios() []scenario {
	clearRule := func(e *env, id string) func() {
		return func() { e.run(30*time.Second, "fault", "clear", id) }
	}
	return []scenario{
		{"Postgres restart", 1, func(e *env, _ []*connector, _ []string) func() {
			b, err := os.ReadFile(filepath.Join(e.state.Postgres.DataDir, "postmaster.pid"))
			if err != nil {
				e.t.Fatalf("postmaster.pid: %v", err)
			}
			pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
			if err := syscall.Kill(pid, syscall.SIGINT); err != nil { // fast shutdown
				e.t.Fatal(err)
			}
			for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			return func() { e.t.Logf("sandbox up restarted Postgres in %s", e.up().Round(time.Millisecond)) }
		}, false},
		{"endpoint kill -9 + sandbox up", 1, func(e *env, _ []*connector, _ []string) func() {
			if err := syscall.Kill(e.state.Ably.PID, syscall.SIGKILL); err != nil {
				e.t.Fatal(err)
			}
			return func() { e.t.Logf("sandbox up restarted the endpoint in %s", e.up().Round(time.Millisecond)) }
		}, false},
		{"SIGKILL 1 of 2 connectors", 2, func(e *env, cs []*connector, _ []string) func() {
			e.run(30*time.Second, "connector", "kill", cs[0].node)
			return nil
		}, false},
		{"SIGSTOP 1 of 2 for 5 s (lease 3 s)", 2, func(e *env, cs []*connector, _ []string) func() {
			e.run(30*time.Second, "connector", "pause", cs[0].node)
			return after(5*time.Second, func() { e.run(30*time.Second, "connector", "resume", cs[0].node) })
		}, false},
		{"fault: refuse 50000 for 2 s", 1, func(e *env, _ []*connector, ch []string) func() {
			return after(2*time.Second, clearRule(e, faultAdd(e, "--channel", prefix(ch)+"*", "--code", "50000")))
		}, false},
		{"fault: delay ACK 300 ms for 2 s", 1, func(e *env, _ []*connector, ch []string) func() {
			return after(2*time.Second, clearRule(e, faultAdd(e, "--channel", prefix(ch)+"*", "--delay-ack", "300ms")))
		}, false},
		{"fault: drop every 1 s for 3 s", 1, func(e *env, _ []*connector, ch []string) func() {
			return after(3*time.Second, clearRule(e, faultAdd(e, "--channel", prefix(ch)+"*", "--drop", "--every", "1s")))
		}, false},
		{"fault: drop + refuse connections 2 s", 1, func(e *env, _ []*connector, ch []string) func() {
			faultAdd(e, "--refuse-connections", "2s")
			faultAdd(e, "--channel", prefix(ch)+"*", "--drop")
			return after(2500*time.Millisecond, func() {})
		}, false},
		{"fault: rate 10/s per channel for 3 s", 1, func(e *env, _ []*connector, ch []string) func() {
			return after(3*time.Second, clearRule(e, faultAdd(e, "--channel", prefix(ch)+"*", "--rate", "10")))
		}, false},
		{"subscriber stalls until disconnected (80020)", 1, nil, true},
	}
}

// prefix is the channels' common namespace ("s3:").
func prefix(channels []string) string { return channels[0][:strings.Index(channels[0], ":")+1] }

// TestFaultSuite runs every scenario on one sandbox, one after the other,
// each with its own channels, connector processes and subscriber, and
// logs the table for BENCHMARKS.md.
func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite runs real processes; skipped with -short")
	}
	e := newEnv(t, "ably:\n  local:\n    maxQueuedBytes: "+strconv.Itoa(stallQueueBytes)+"\n    faults:\n      - channel: 'never:*'\n        code: 40160\n")
	configRule := func(when string) {
		var l fault.List
		if err := json.Unmarshal([]byte(e.run(30*time.Second, "fault", "list", "--json")), &l); err != nil || len(l.Faults) != 1 || l.Faults[0].Channel != "never:*" {
			t.Errorf("%s: fault list shows %+v (%v); want the ably.local.faults rule on never:*", when, l.Faults, err)
		}
	}
	configRule("after sandbox up")
	table := []string{"| fault | rows | lost | dup | reordered | recovery (s) |", "| --- | --- | --- | --- | --- | --- |"}
	for i, sc := range scenarios() {
		channels := make([]string, 4)
		for k := range channels {
			channels[k] = fmt.Sprintf("s%d:c%d", i, k)
		}
		ok := t.Run(sc.name, func(t *testing.T) {
			se := *e
			se.t = t
			var cs []*connector
			for range sc.nodes {
				cs = append(cs, se.startConnector())
			}
			sub := se.subscribe(channels)
			var st *stalledSub
			pad := 0
			if sc.stall {
				st, pad = se.subscribeStalled(channels), stallPad
			}
			w := se.startWriterPadded(channels, 10*time.Millisecond, pad)
			time.Sleep(time.Second)
			start := time.Now()
			var released time.Time
			var committed map[string]int64
			if st != nil {
				// no event to await: the endpoint's disconnect is only seen
				// once the subscriber reads again, so it stalls for a time
				// that overruns the queue limit several times over
				st.proxy.stall()
				time.Sleep(stallFor)
				committed, released = w.lastIDs(), time.Now()
				st.recoverAfterStall(t, channels, committed)
			} else if heal := sc.inject(&se, cs, channels); heal != nil {
				heal()
			}
			time.Sleep(time.Second)
			ids, failures := w.finish()
			drained := se.awaitDrained(ids, 60*time.Second)
			sub.awaitLast(ids, 5*time.Second) // the last deliveries reach the subscriber
			o := se.check(ids, sub)
			t.Logf("%s: %d rows (%d insert retries), lost %d, dup %d, reordered %d, longest pause on a channel %.2fs; drained %s after the writer stopped; fault window %s",
				sc.name, o.rows, failures, o.lost, o.dup, o.reordered, o.recovery.Seconds(), drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			if o.lost > 0 || o.dup > 0 || o.reordered > 0 {
				t.Errorf("%s: lost %d, dup %d, reordered %d of %d rows", sc.name, o.lost, o.dup, o.reordered, o.rows)
			}
			if st != nil {
				r := st.report(ids, released, committed)
				st.mu.Lock()
				codes := append([]int(nil), st.codes...)
				lostCont, lostCodes := st.lostCont, append([]int(nil), st.lostCodes...)
				st.mu.Unlock()
				t.Logf("%s: stalled subscriber: %d reattach(es) reported lost continuity (resumed=false), reasons %v", sc.name, lostCont, lostCodes)
				t.Logf("%s: stalled subscriber: connection reasons %v; of %d rows from its first delivery: %d live before the release, %d live after (SDK resume), %d only in history until attach (lost by resume alone), %d missing; %d dup and %d out of order live; %d of %d channels last reattached resumed=true; caught up %.2fs after the release",
					sc.name, codes, r.expected, r.liveBefore, r.liveAfter, r.history, r.missing, r.dupLive, r.reorderedLive, r.resumed, len(channels), r.caughtUp.Seconds())
				if len(codes) == 0 || codes[0] != 80020 {
					t.Errorf("%s: stalled subscriber's first disconnect reasons %v; want 80020 first", sc.name, codes)
				}
				if r.missing > 0 {
					t.Errorf("%s: stalled subscriber still misses %d rows after resume and history", sc.name, r.missing)
				}
				if bad := liveExact(ids, sub); bad > 0 {
					t.Errorf("%s: the other subscriber on the same channels was disturbed: %d channel(s) not exactly once in order", sc.name, bad)
				}
				o.recovery = r.caughtUp
			}
			table = append(table, fmt.Sprintf("| %s | %d | %d | %d | %d | %.1f |", sc.name, o.rows, o.lost, o.dup, o.reordered, o.recovery.Seconds()))
			for _, c := range cs {
				c.stop(t)
			}
			sub.rt.Close()
			if st != nil {
				st.rt.Close()
			}
		})
		if !ok && i < 2 {
			break // the sandbox itself may be broken
		}
		e.state = *loadState(t, e)
	}
	configRule("at the end (the endpoint was restarted)")
	t.Logf("fault suite table:\n%s", strings.Join(table, "\n"))

	// A rule added to livesync.yaml reaches the running endpoint at the
	// next `sandbox up`, once.
	extra := suiteYAML + "ably:\n  local:\n    maxQueuedBytes: " + strconv.Itoa(stallQueueBytes) + "\n    faults:\n      - channel: 'never:*'\n        code: 40160\n      - channel: 'later:*'\n        delayAck: 1s\n"
	if err := os.WriteFile(filepath.Join(e.dir, "livesync.yaml"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		e.up()
		var l fault.List
		if err := json.Unmarshal([]byte(e.run(30*time.Second, "fault", "list", "--json")), &l); err != nil || len(l.Faults) != 2 || l.Faults[1].Channel != "later:*" {
			t.Fatalf("after sandbox up with a new rule in livesync.yaml: %+v (%v); want the two configured rules", l.Faults, err)
		}
	}
}

// loadState rereads sandbox.json (a scenario may have restarted parts).
func loadState(t *testing.T, e *env) *sandboxState {
	b, err := os.ReadFile(filepath.Join(e.dir, ".livesync", "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st sandboxState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}
