package cli

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOutboxHoldStopsTheChannel: `outbox hold` takes the row's lock as a
// long application transaction would; `status` reports the row as
// row-locked by the pid the command printed, the row behind it waits, and
// ending the hold (Ctrl-C) lets both go.
func TestOutboxHoldStopsTheChannel(t *testing.T) {
	s := newScenario(t, scenarioOptions{})
	held := s.insert("--channel", "held:1", "--data", `{"n":1}`, "--count", "2")
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	root := NewRootCommand(outW, io.Discard)
	root.SetArgs([]string{"outbox", "hold", strconv.FormatInt(held[0], 10), "--seconds", "120"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); outW.Close() }()
	t.Cleanup(func() { cancel(); go io.Copy(io.Discard, outR); <-done }) //nolint:errcheck // drain
	out := bufio.NewReader(outR)
	line := readLine(t, out)
	if !strings.HasPrefix(line, "holding the lock of row "+strconv.FormatInt(held[0], 10)+" from backend pid ") {
		t.Fatalf("hold printed %q", line)
	}
	pid, err := strconv.Atoi(strings.Fields(strings.SplitN(line, "backend pid ", 2)[1])[0])
	if err != nil {
		t.Fatalf("no pid in %q", line)
	}
	s.connector()
	st, i, _ := s.awaitReason(held[0], "row-locked", 15*time.Second)
	if h := st.Stuck[i].Holder; h == nil || h.PID != pid {
		t.Fatalf("row-locked entry %+v: want holder pid %d", st.Stuck[i], pid)
	}
	if !s.pending(held[1]) {
		t.Fatal("the row behind the held row went out first")
	}
	cancel()
	if line := readLine(t, out); !strings.HasPrefix(line, "released row") {
		t.Errorf("after Ctrl-C hold printed %q", line)
	}
	if err := <-done; err != nil {
		t.Fatalf("hold ended with %v", err)
	}
	done <- nil // for the cleanup
	took := s.awaitFlowed("the rows go once the hold ends", 15*time.Second, held...)
	t.Logf("rows flowed %s after the hold ended", took.Round(time.Millisecond))
	if _, stderr, code := runCLI(t, "outbox", "hold", "999999", "--seconds", "1"); code != 1 || !strings.Contains(stderr, "no such outbox row") {
		t.Errorf("hold of a missing row: exit %d %q", code, stderr)
	}
}
