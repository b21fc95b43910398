package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// TestTraceRowThroughEveryStage: rows inserted with `insert` are traced
// with `outbox trace --json` through a real `connector run` node and the
// local endpoint, by mutation id after the row was deleted: commit,
// claim, send, ACK, completion by the registered node, monotonic times,
// delivery to the attached subscriber; a rejected row shows its reject
// header; a row that is nowhere says so on stderr with exit status 1.
func TestTraceRowThroughEveryStage(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	s.connector()
	files, _ := filepath.Glob(filepath.Join(s.dir, ".livesync", "nodes", "*.json"))
	node := strings.TrimSuffix(filepath.Base(files[0]), ".json")

	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(s.srv.Addr(), s.key().String()), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		t.Fatal(err)
	}
	got := make(chan *ably.Message, 10)
	if _, err := rt.Channels.Get("trace:1").SubscribeAll(ctx, func(m *ably.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	first := s.insert("--channel", "trace:1", "--data", `{"a":1}`, "--mutation-id", "trace-mut-1")
	rejected := s.insert("--channel", "trace:1", "--data", `{"a":2}`, "--mutation-id", "trace-mut-2", "--rejected")
	s.awaitFlowed("both rows published", 20*time.Second, first[0], rejected[0])
	s.await("the first row deleted", 10*time.Second, func() bool {
		return s.count("SELECT count(*) FROM outbox WHERE sequence_id = $1", first[0]) == 0
	})

	trace := func(args ...string) monitor.Journey {
		t.Helper()
		out, stderr, code := runCLI(t, append([]string{"outbox", "trace", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("trace %v: exit %d: %s", args, code, stderr)
		}
		var j monitor.Journey
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return j
	}
	j := trace("--mutation", "trace-mut-1")
	if !j.Found || j.SequenceID != first[0] || j.Status != "gone" || j.Channel != "trace:1" || j.RejectHeader != "" {
		t.Fatalf("journey: %+v", j)
	}
	if len(j.Nodes) != 1 || j.Nodes[0] != node {
		t.Errorf("nodes %v, want [%s]", j.Nodes, node)
	}
	if j.Delivered == nil || *j.Delivered < 1 {
		t.Errorf("delivered %v, want >= 1", j.Delivered)
	}
	seen := map[string]bool{}
	for i, st := range j.Stages {
		seen[st.Stage] = true
		if i > 0 && st.Time.Before(j.Stages[i-1].Time) {
			t.Errorf("stage %s at %s before %s", st.Stage, st.Time, j.Stages[i-1].Time)
		}
	}
	for _, want := range []string{"commit", "claim", "fence", "send", "accepted", "ack", "deleted"} {
		if !seen[want] {
			t.Errorf("no %s stage in %+v", want, j.Stages)
		}
	}

	r := trace(strconv.FormatInt(rejected[0], 10))
	if r.RejectHeader != "x-ably-models-reject: true" || r.Status != "processed" {
		t.Errorf("rejected row: header %q status %s", r.RejectHeader, r.Status)
	}
	text, _, code := runCLI(t, "outbox", "trace", "--mutation", "trace-mut-1")
	if code != 0 || !strings.Contains(text, "<- slowest") || !strings.Contains(text, "delivered to") {
		t.Errorf("text trace (exit %d):\n%s", code, text)
	}
	_, stderr, code := runCLI(t, "outbox", "trace", "--mutation", "never-inserted")
	if code != 1 || !strings.Contains(stderr, monitor.NotFoundMessage) {
		t.Errorf("unknown mutation: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "outbox", "trace"); code != 2 || !strings.Contains(stderr, "give a row id or a mutation id") {
		t.Errorf("no argument: exit %d, stderr %q", code, stderr)
	}
	<-got
}
