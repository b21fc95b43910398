package view

import (
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// root lays the dashboard out: the overview on top, the caption of a
// narrated demo under it (when one runs), the current view's panels, the
// footer (hints, messages or the `:`/`/` prompt) and at most one overlay
// centred above. It routes every key itself (see App.handleKey).
type root struct {
	*tview.Box
	app *App
}

// newRoot builds the root of a.
func newRoot(a *App) *root { return &root{Box: tview.NewBox(), app: a} }

// Draw draws everything.
func (r *root) Draw(screen tcell.Screen) {
	a := r.app
	x, y, w, h := r.GetRect()
	bg := tcell.StyleDefault.Background(a.env.theme.Bg)
	for row := y; row < y+h; row++ {
		for col := x; col < x+w; col++ {
			screen.SetContent(col, row, ' ', nil, bg)
		}
	}
	oh := min(overviewHeight, max(h-3, 0))
	a.overview.SetRect(x, y, w, oh)
	a.overview.Draw(screen)
	if a.captionBox != nil {
		ch := a.captionBox.height(w, max((h-oh-1)/2, 0))
		a.captionBox.SetRect(x, y+oh, w, ch)
		a.captionBox.Draw(screen)
		oh += ch
	}
	bodyH := max(h-oh-1, 0)
	for _, item := range a.layout(x, y+oh, w, bodyH) {
		item.Draw(screen)
	}
	a.drawFooter(screen, x, y+h-1, w)
	if a.overlay != nil {
		ow, oh := overlaySize(a.overlay, w, h)
		a.overlay.SetRect(x+(w-ow)/2, y+(h-oh)/2, ow, oh)
		a.overlay.Draw(screen)
	}
}

// overlaySize picks an overlay's size for a w×h screen.
func overlaySize(p tview.Primitive, w, h int) (int, int) {
	switch o := p.(type) {
	case *Confirm:
		cw, ch := o.size()
		return min(cw, w), min(ch, h)
	case *InsertForm:
		return min(80, w), min(20, h)
	case *Help:
		return min(80, w-2), max(h-2, 3)
	}
	return max(w-4, 10), max(h-2, 3)
}

// layout positions the current screen's panels in the body rectangle and
// returns them in drawing order. Below 100 columns panels stack.
func (a *App) layout(x, y, w, h int) []tview.Primitive {
	ps := a.panels(a.screen)
	switch a.screen {
	case ScreenDashboard:
		nodesH := min(max(len(a.nodes.nodes), 1)+3, max(h/3, 4))
		if w >= 120 {
			lw := w * 3 / 5
			a.outbox.SetRect(x, y, lw, h)
			a.nodes.SetRect(x+lw, y, w-lw, nodesH)
			a.tail.SetRect(x+lw, y+nodesH, w-lw, h-nodesH)
		} else {
			obH := max((h-nodesH)/2, 3)
			a.outbox.SetRect(x, y, w, obH)
			a.nodes.SetRect(x, y+obH, w, nodesH)
			a.tail.SetRect(x, y+obH+nodesH, w, h-obH-nodesH)
		}
	case ScreenChannels:
		if w >= 100 {
			lw := max(w*2/5, 30)
			a.chans.SetRect(x, y, lw, h)
			a.tail.SetRect(x+lw, y, w-lw, h)
		} else {
			lh := min(8, h/2)
			a.chans.SetRect(x, y, w, lh)
			a.tail.SetRect(x, y+lh, w, h-lh)
		}
	default:
		ps[0].SetRect(x, y, w, h)
	}
	out := make([]tview.Primitive, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// drawFooter draws the prompt, a message, or the key hints.
func (a *App) drawFooter(screen tcell.Screen, x, y, w int) {
	t := &a.env.theme
	if a.prompt != nil {
		a.prompt.SetRect(x, y, w, 1)
		a.prompt.Draw(screen)
		return
	}
	if a.flash != "" && a.env.now().Sub(a.flashAt) < flashFor {
		c := t.Fg
		if a.flashErr {
			c = t.Err
		}
		tview.Print(screen, tview.Escape(a.flash), x, y, w, tview.AlignLeft, c)
		return
	}
	tview.Print(screen, a.hints(w), x, y, w, tview.AlignLeft, t.Dim)
}

// hints renders the footer's key hints from the key table, as many whole
// hints as fit in width columns.
func (a *App) hints(width int) string {
	var b strings.Builder
	used := 0
	for _, k := range a.bindings() {
		if !k.Footer {
			continue
		}
		h := model.KeyLabel(k.Key) + " " + k.Description
		if used+len(h) > width {
			break
		}
		b.WriteString(tview.Escape(h) + "  ")
		used += len(h) + 2
	}
	return b.String()
}

// Focus hands the focus to the overlay, the prompt or the focused panel.
func (r *root) Focus(delegate func(p tview.Primitive)) {
	r.Box.Focus(delegate)
}

// InputHandler routes keys (App.HandleKey).
func (r *root) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return func(ev *tcell.EventKey, _ func(tview.Primitive)) { r.app.HandleKey(ev) }
}

// MouseHandler passes clicks to the panel under the pointer when the mouse
// is enabled.
func (r *root) MouseHandler() func(tview.MouseAction, *tcell.EventMouse, func(tview.Primitive)) (bool, tview.Primitive) {
	return func(action tview.MouseAction, ev *tcell.EventMouse, _ func(tview.Primitive)) (bool, tview.Primitive) {
		a := r.app
		if a.overlay != nil {
			return a.overlay.MouseHandler()(action, ev, a.focus)
		}
		for i, p := range a.panels(a.screen) {
			if p.InRect(ev.Position()) {
				if action == tview.MouseLeftClick {
					a.focusIdx[a.screen] = i
					a.focusPanel()
				}
				return p.MouseHandler()(action, ev, a.focus)
			}
		}
		return false, nil
	}
}
