package view_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/tui/model"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// narrated builds an app over a narration whose posts queue up until the
// test (playing the UI goroutine) runs them with drain or next.
func narrated(t *testing.T) (*bundle, *model.Narration, chan func()) {
	t.Helper()
	n := model.NewNarration()
	posted := make(chan func(), 100)
	b := setup(t, 10, func(o *view.Options) {
		o.Narration = n
		o.Post = func(f func()) { posted <- f }
	})
	drain(posted)
	return b, n, posted
}

// drain runs every queued post.
func drain(posted chan func()) {
	for {
		select {
		case f := <-posted:
			f()
		default:
			return
		}
	}
}

// next runs the next post, waiting for it (a failsafe bounds the wait).
func next(t *testing.T, posted chan func()) {
	t.Helper()
	select {
	case f := <-posted:
		f()
	case <-time.After(10 * time.Second):
		t.Fatal("nothing was posted to the UI")
	}
}

// TestCaptionFollowsTheNarrationAndNAdvances: captions fed through the
// model seam show in the box under the overview on every screen; the
// advance key is in the footer and help, does nothing while a step runs,
// and ends the script's wait once the step has passed.
func TestCaptionFollowsTheNarrationAndNAdvances(t *testing.T) {
	b, n, posted := narrated(t)
	contains(t, b.screenText(t), " Demo ", "starting the demo…")

	n.Show(model.Caption{Step: 3, Total: 9, Name: "node killed", Status: model.StepRunning,
		Text: "One node crashes (killed without releasing anything)."})
	drain(posted)
	lines := b.render(t, 120, 40)
	text := strings.Join(lines, "\n")
	contains(t, text, " Demo · step 3/9: node killed ", "One node crashes (killed without releasing anything).",
		"running…", "<n> goes on once this step has passed", "<n> next step")
	// The box sits right under the five-line overview, bordered.
	if !strings.HasPrefix(lines[5], "┌") || !strings.Contains(lines[5], "step 3/9") {
		t.Fatalf("line 5 = %q, want the caption box's top border", lines[5])
	}
	for _, screen := range []string{"2", "3", "4", "5", "6", "7", "1"} {
		b.typ(screen)
		contains(t, b.screenText(t), "step 3/9: node killed")
	}
	drain(posted)

	b.typ("n") // the step is still running: nothing to advance
	if !strings.Contains(b.app.Flash(), "still running") {
		t.Fatalf("flash = %q, want the step still running", b.app.Flash())
	}

	n.Show(model.Caption{Step: 3, Total: 9, Name: "node killed", Status: model.StepOK, Took: 5200 * time.Millisecond,
		Text: "One node crashes.", Result: "node 1a2b3c4d killed; every channel flowing again after 5.1s"})
	done := make(chan error, 1)
	go func() { done <- n.Wait(context.Background(), 0) }()
	for c, _ := b.app.Caption(); !c.Waiting; c, _ = b.app.Caption() {
		next(t, posted) // the ok caption, then the same waiting for the key
	}
	text = b.screenText(t)
	contains(t, text, "ok  node 1a2b3c4d killed; every channel flowing again after 5.1s (5.2s)", "<n> next step")
	lacks(t, text, "running…", "by itself")
	select {
	case err := <-done:
		t.Fatalf("the wait ended before the key: %v", err)
	default:
	}
	b.app.HandleKey(tcell.NewEventKey(tcell.KeyRune, 'n', tcell.ModNone))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("n did not end the script's wait")
	}

	// With a timer the hint counts down with the clock.
	n.Show(model.Caption{Step: 4, Total: 9, Name: "rejected mutation", Status: model.StepOK, Result: "row 7 delivered",
		Waiting: true, AutoAt: b.clock.t.Add(17 * time.Second)})
	drain(posted)
	contains(t, b.screenText(t), "step 4/9: rejected mutation", "<n> next step (or it starts by itself in 17s)")
	b.clock.t = b.clock.t.Add(5 * time.Second)
	contains(t, b.screenText(t), "starts by itself in 12s")

	b.typ("?")
	help := strings.Join(b.app.Overlay().(*view.Help).Rows(), "\n")
	contains(t, help, "<n> nextStep go on to the demo's next step")
}

// TestCaptionFailureAndFinish: a failed step shows FAIL in the error colour
// and the key no longer advances; a finished script says so.
func TestCaptionFailureAndFinish(t *testing.T) {
	b, n, posted := narrated(t)
	n.Show(model.Caption{Step: 5, Total: 9, Name: "poison row", Status: model.StepFailed, Took: 20 * time.Second,
		Text: "A 70 KB row exceeds Ably's 64 KiB message limit.", Result: "the poison row diagnosed: not seen in time"})
	drain(posted)
	cells, w, _ := b.draw(t, 120, 40).GetContents()
	found := false
	for i := 0; i+4 <= len(cells) && !found; i++ {
		if string(cells[i].Runes)+string(cells[i+1].Runes)+string(cells[i+2].Runes)+string(cells[i+3].Runes) == "FAIL" {
			found = true
			if fg, _, _ := cells[i].Style.Decompose(); fg != b.app.Theme().Err {
				t.Errorf("FAIL at row %d is drawn in %v, want the error colour %v", i/w, fg, b.app.Theme().Err)
			}
		}
	}
	if !found {
		t.Fatal("no FAIL on screen")
	}
	text := b.screenText(t)
	contains(t, text, "step 5/9: poison row", "FAIL  the poison row diagnosed: not seen in time (after 20s)", "the demo stopped at this step; <q> quits")
	if n.Advance() {
		t.Fatal("Advance reported true with no wait in progress")
	}
	b.typ("n")
	if !strings.Contains(b.app.Flash(), "the demo has stopped") {
		t.Fatalf("flash = %q", b.app.Flash())
	}
	if b.quit {
		t.Fatal("n quit")
	}

	n.Show(model.Caption{Step: 9, Total: 9, Name: "finish", Status: model.StepOK, Finished: true, Result: "120 rows written, 0 lost"})
	drain(posted)
	contains(t, b.screenText(t), " Demo · finished: 9/9 steps ok ", "ok  120 rows written, 0 lost", "demo finished: every step behaved as LiveSync promises")
}

// TestNoNarrationNoCaptionNoKey: without a demo there is no caption box,
// and n is neither shown nor bound.
func TestNoNarrationNoCaptionNoKey(t *testing.T) {
	b := setup(t, 10, nil)
	text := strings.Join(b.render(t, 200, 50), "\n")
	lacks(t, text, " Demo ", "<n> next step")
	b.typ("n")
	if b.app.Flash() != "" {
		t.Fatalf("n did something without a demo: %q", b.app.Flash())
	}
	b.typ("?")
	lacks(t, strings.Join(b.app.Overlay().(*view.Help).Rows(), "\n"), "nextStep")
}

// TestCaptionFitsASmallScreen: on 80×24 the long caption is cut before the
// status and the hint, and the panels keep most of the body.
func TestCaptionFitsASmallScreen(t *testing.T) {
	b, n, posted := narrated(t)
	n.Show(model.Caption{Step: 4, Total: 9, Name: "rejected mutation", Status: model.StepRunning,
		Text: strings.Repeat("The backend refuses a client's optimistic mutation. ", 8)})
	drain(posted)
	lines := b.render(t, 80, 24)
	text := strings.Join(lines, "\n")
	contains(t, text, "step 4/9", "running…", "<n> goes on", " Outbox ")
	box := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "│") && strings.HasSuffix(l, "│") && (strings.Contains(l, "backend") || strings.Contains(l, "running") || strings.Contains(l, "<n>")) {
			box++
		}
	}
	if box > (24-5-1)/2-2 {
		t.Fatalf("the caption takes %d lines of 24:\n%s", box, text)
	}
}
