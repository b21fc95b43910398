package view_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// update rewrites the golden files: go test ./tui/view -update
var update = flag.Bool("update", false, "rewrite golden files in tui/testdata")

// clock is a settable fake clock.
type clock struct{ t time.Time }

// Now returns the fake time.
func (c *clock) Now() time.Time { return c.t }

// bundle is one test's app, source, clock and clipboard.
type bundle struct {
	app    *view.App
	src    *fake.Source
	clock  *clock
	copied []byte
	quit   bool
}

// setup builds an app over a fake source with rows rows and the fixed
// snapshot, running async work synchronously.
func setup(t *testing.T, rows int64, mutate func(*view.Options)) *bundle {
	t.Helper()
	b := &bundle{src: &fake.Source{Rows: rows, Snap: fake.Snapshot1()}, clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	opts := view.Options{
		Source: b.src, Now: b.clock.Now, NoColor: false,
		Async: func(f func()) { f() }, Post: func(f func()) { f() },
		Copy:      func(p []byte) { b.copied = append([]byte(nil), p...) },
		Quit:      func() { b.quit = true },
		Dashboard: config.Dashboard{Refresh: time.Second, Theme: "default", StuckThreshold: 30 * time.Second, TailBuffer: 100},
	}
	if mutate != nil {
		mutate(&opts)
	}
	a, err := view.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.app = a
	a.Refresh()
	return b
}

// key sends one key.
func (b *bundle) key(k tcell.Key) { b.app.HandleKey(tcell.NewEventKey(k, 0, tcell.ModNone)) }

// ctrl sends Ctrl-<r>.
func (b *bundle) ctrl(r rune) { b.app.HandleKey(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModCtrl)) }

// typ types runes.
func (b *bundle) typ(s string) {
	for _, r := range s {
		b.app.HandleKey(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
	}
}

// draw draws the app on a w×h simulation screen (finished when the test
// ends), for tests that look at styles.
func (b *bundle) draw(t *testing.T, w, h int) tcell.SimulationScreen {
	t.Helper()
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Fini)
	s.SetSize(w, h)
	root := b.app.Root()
	root.SetRect(0, 0, w, h)
	root.Draw(s)
	s.Show()
	return s
}

// render draws the app on a w×h simulation screen and returns its lines.
func (b *bundle) render(t *testing.T, w, h int) []string {
	t.Helper()
	cells, cw, ch := b.draw(t, w, h).GetContents()
	lines := make([]string, ch)
	for y := range ch {
		var sb strings.Builder
		for x := 0; x < cw; x++ {
			c := cells[y*cw+x]
			if len(c.Runes) == 0 {
				sb.WriteByte(' ')
				continue
			}
			sb.WriteString(string(c.Runes))
		}
		lines[y] = strings.TrimRight(sb.String(), " ")
	}
	return lines
}

// screenText renders and joins the lines.
func (b *bundle) screenText(t *testing.T) string {
	return strings.Join(b.render(t, 120, 40), "\n")
}

// golden compares got with tui/testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []string) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui/view -update to create it)", err)
	}
	if string(want) != text {
		t.Errorf("%s differs from the rendering (go test ./tui/view -update rewrites it)\n--- got ---\n%s--- want ---\n%s", name, text, want)
	}
}

// contains fails unless text holds every part.
func contains(t *testing.T, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("screen lacks %q:\n%s", p, text)
		}
	}
}

// lacks fails if text holds any part.
func lacks(t *testing.T, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(text, p) {
			t.Errorf("screen has %q but should not:\n%s", p, text)
		}
	}
}

// itoa formats an int.
func itoa(n int) string { return strconvItoa(n) }

var strconvItoa = strconv.Itoa
