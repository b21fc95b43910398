package cli

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/sandbox"
)

// recordingScreen is a simulation screen of a fixed size that keeps a copy
// of what each Show put on it, taken on the drawing goroutine, so a test
// can read it without racing the dashboard.
type recordingScreen struct {
	tcell.SimulationScreen
	w, h int

	mu    sync.Mutex
	lines []string
	shown chan struct{}
}

func newRecordingScreen(w, h int) *recordingScreen {
	return &recordingScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8"), w: w, h: h, shown: make(chan struct{}, 1)}
}

// Init initialises the simulation and sizes it.
func (r *recordingScreen) Init() error {
	if err := r.SimulationScreen.Init(); err != nil {
		return err
	}
	r.SimulationScreen.SetSize(r.w, r.h)
	return nil
}

// Show shows and records the screen.
func (r *recordingScreen) Show() {
	r.SimulationScreen.Show()
	r.record()
}

// Sync syncs and records the screen.
func (r *recordingScreen) Sync() {
	r.SimulationScreen.Sync()
	r.record()
}

func (r *recordingScreen) record() {
	cells, w, h := r.SimulationScreen.GetContents()
	lines := make([]string, h)
	for y := range h {
		var sb strings.Builder
		for x := range w {
			if c := cells[y*w+x]; len(c.Runes) > 0 {
				sb.WriteString(string(c.Runes))
			} else {
				sb.WriteByte(' ')
			}
		}
		lines[y] = strings.TrimRight(sb.String(), " ")
	}
	r.mu.Lock()
	r.lines = lines
	r.mu.Unlock()
	select {
	case r.shown <- struct{}{}:
	default:
	}
}

// text is the screen as last shown.
func (r *recordingScreen) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// await waits until the screen shows every part, failing after within.
func (r *recordingScreen) await(t *testing.T, within time.Duration, parts ...string) {
	t.Helper()
	deadline := time.After(within)
	for {
		text := r.text()
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(text, p)
		}
		if ok {
			return
		}
		select {
		case <-r.shown:
		case <-deadline:
			t.Fatalf("the screen never showed %q within %s:\n%s", parts, within, text)
		}
	}
}

// TestDemoDashboardNarratesAndQuits runs `livesync-dev demo` the way a
// terminal user does, on a simulation screen: the sandbox comes up behind
// the progress screen, the dashboard shows step 1's caption and its result,
// n goes on to step 2 (messages flow, and the dashboard's tail shows them
// although the demo reads the tail too), and q quits mid-demo: exit 0, the
// sandbox taken down, the connector's log removed.
func TestDemoDashboardNarratesAndQuits(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs a whole sandbox; skipped with -short")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	t.Chdir(dir)
	t.Setenv("TMPDIR", tmp) // where the demo puts the connector's log
	t.Cleanup(func() { runCLI(t, "sandbox", "down", "--purge") })
	screen := newRecordingScreen(140, 45)
	prev := demoTerminal
	demoTerminal = func(headless bool) (tcell.Screen, bool) { return screen, !headless }
	t.Cleanup(func() { demoTerminal = prev })

	type result struct {
		stdout, stderr string
		code           int
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		o, e, c := runCLI(t, "demo", "--step-pause", "0")
		done <- result{o, e, c}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		screen.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)
		select {
		case r := <-done:
			t.Logf("demo exited %d; stderr:\n%s", r.code, r.stderr)
		case <-time.After(time.Minute):
		}
		t.Fatalf(format, args...)
	}

	screen.await(t, 60*time.Second, " Demo · step 1/9: sandbox ", "ok  2 live nodes", "<n> next step")
	if strings.Contains(screen.text(), "step 2/9") {
		fail("step 2 started before n was pressed:\n%s", screen.text())
	}
	t.Logf("step 1 passed in the dashboard %s after the start", time.Since(start).Round(100*time.Millisecond))
	screen.InjectKey(tcell.KeyRune, 'n', tcell.ModNone)
	screen.await(t, 30*time.Second, " Demo · step 2/9: flow ", "ok  messages arrive on all three channels", "← recv demo:")
	screen.InjectKey(tcell.KeyRune, 'q', tcell.ModNone)

	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the demo did not end after q")
	}
	if r.code != 0 {
		t.Fatalf("demo exited %d after q; stderr:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("the dashboard demo wrote to stdout: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "): stopped") {
		t.Errorf("stderr does not say Postgres stopped:\n%s", r.stderr)
	}
	st, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Postgres.Running || st.Ably != nil {
		t.Errorf("after q the sandbox is still up: postgres running %v, ably %+v", st.Postgres.Running, st.Ably)
	}
	if logs, _ := filepath.Glob(filepath.Join(tmp, "livesync-demo-*.log")); len(logs) != 0 {
		t.Errorf("the connector's log was kept after a clean quit: %v", logs)
	}
	t.Logf("demo in the dashboard: quit after step 2, %s in all; stderr:\n%s", time.Since(start).Round(100*time.Millisecond), r.stderr)
}
