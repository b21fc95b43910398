package view

import (
	"fmt"
	"math"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// captionBox is the narrated script's caption (`livesync-dev demo`): a
// bordered box under the overview, on every screen, while a script
// narrates. It shows the step, its caption, how it went and what the
// advance key does now.
type captionBox struct {
	*tview.Box
	app *App
}

// newCaptionBox builds the caption box of a.
func newCaptionBox(a *App) *captionBox {
	c := &captionBox{Box: tview.NewBox(), app: a}
	c.SetBorder(true)
	return c
}

// captionLine is one line of the box and its colour.
type captionLine struct {
	text  string // escaped for tview.Print
	color tcell.Color
}

// Caption returns the caption shown last and whether one was (tests).
func (a *App) Caption() (model.Caption, bool) { return a.caption, a.hasCaption }

// showCaption takes a caption from the narration (UI goroutine).
func (a *App) showCaption(c model.Caption) { a.caption, a.hasCaption = c, true }

// title is the box's title: the step, its number and name.
func (c *captionBox) title() string {
	a := c.app
	if !a.hasCaption {
		return " Demo "
	}
	cp := a.caption
	if cp.Finished {
		return fmt.Sprintf(" Demo · finished: %d/%d steps ok ", cp.Total, cp.Total)
	}
	return fmt.Sprintf(" Demo · step %d/%d: %s ", cp.Step, cp.Total, cp.Name)
}

// lines renders the inside of the box for width columns in at most rows
// lines: the caption's text (cut first when space is short), the step's
// status and the hint.
func (c *captionBox) lines(width, rows int) []captionLine {
	a := c.app
	t := &a.env.theme
	if width <= 0 || rows <= 0 {
		return nil
	}
	wrap := func(s string, col tcell.Color, most int) []captionLine {
		var out []captionLine
		for i, l := range tview.WordWrap(tview.Escape(s), width) {
			if i == most {
				break
			}
			out = append(out, captionLine{l, col})
		}
		return out
	}
	if !a.hasCaption {
		return wrap("starting the demo…", t.Dim, rows)
	}
	cp := a.caption
	key := model.KeyLabel(a.keys.Key(model.ActNextStep))
	quit := model.KeyLabel(a.keys.Key(model.ActQuit))
	var status, hint []captionLine
	switch cp.Status {
	case model.StepOK:
		status = wrap("ok  "+cp.Result+" ("+fmtTook(cp.Took)+")", t.OK, 2)
	case model.StepFailed:
		status = wrap("FAIL  "+cp.Result+" (after "+fmtTook(cp.Took)+")", t.Err, 2)
	default:
		status = wrap("running…", t.Warn, 1)
	}
	switch {
	case cp.Finished:
		hint = wrap("demo finished: every step behaved as LiveSync promises. "+quit+" quits and takes the sandbox down.", t.Title, 2)
	case cp.Status == model.StepFailed:
		hint = wrap("the demo stopped at this step; "+quit+" quits and takes the sandbox down (the connector's log is kept).", t.Title, 2)
	case cp.Waiting && !cp.AutoAt.IsZero():
		left := math.Ceil(cp.AutoAt.Sub(a.env.now()).Seconds())
		hint = wrap(fmt.Sprintf("%s next step (or it starts by itself in %.0fs)", key, math.Max(left, 0)), t.Title, 1)
	case cp.Waiting:
		hint = wrap(key+" next step", t.Title, 1)
	default:
		hint = wrap(key+" goes on once this step has passed", t.Dim, 1)
	}
	room := rows - len(status) - len(hint)
	out := wrap(cp.Text, t.Fg, room)
	out = append(out, status...)
	out = append(out, hint...)
	if len(out) > rows {
		out = out[len(out)-rows:]
	}
	return out
}

// height is the box's height for width columns when at most rows rows are
// free (borders included); 0 when there is no room.
func (c *captionBox) height(width, rows int) int {
	if rows < 3 {
		return 0
	}
	return len(c.lines(width-2, rows-2)) + 2
}

// Draw draws the border, the title and the lines.
func (c *captionBox) Draw(screen tcell.Screen) {
	t := &c.app.env.theme
	c.SetTitle(tview.Escape(c.title())).SetTitleColor(t.Title).SetBorderColor(t.Focus)
	c.Box.DrawForSubclass(screen, c)
	x, y, w, h := c.GetInnerRect()
	for i, l := range c.lines(w, h) {
		tview.Print(screen, l.text, x, y+i, w, tview.AlignLeft, l.color)
	}
}

// fmtTook renders a step's duration to a tenth of a second.
func fmtTook(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// nextStep is the advance key: it tells the narration to go on, or says
// why it cannot.
func (a *App) nextStep() {
	switch {
	case a.narration.Advance():
	case a.hasCaption && (a.caption.Finished || a.caption.Status == model.StepFailed):
		a.setFlash("the demo has stopped; "+model.KeyLabel(a.keys.Key(model.ActQuit))+" quits", false)
	default:
		a.setFlash("this step is still running; it goes on once it has passed", false)
	}
}
