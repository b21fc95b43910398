package view

import (
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Confirm is the confirmation dialog of every write: it shows what will
// happen and the SQL that will run, and opens with Cancel focused, so Enter
// right away changes nothing. Tab or the arrow keys move between buttons;
// Esc cancels.
type Confirm struct {
	*tview.Box
	theme   *Theme
	lines   []string
	okLabel string
	onOK    func()
	onClose func()
	okFocus bool
}

// NewConfirm builds a dialog titled title with body text; onOK runs when
// the user confirms, onClose whenever the dialog closes.
func NewConfirm(theme *Theme, title, body, okLabel string, onOK, onClose func()) *Confirm {
	c := &Confirm{Box: tview.NewBox(), theme: theme, okLabel: okLabel, onOK: onOK, onClose: onClose}
	c.lines = strings.Split(body, "\n")
	c.SetBorder(true).SetTitle(" " + tview.Escape(title) + " ")
	return c
}

// CancelFocused reports whether the Cancel button has the focus.
func (c *Confirm) CancelFocused() bool { return !c.okFocus }

// size returns the dialog's preferred width and height.
func (c *Confirm) size() (int, int) {
	w := len(c.okLabel) + 20
	for _, l := range c.lines {
		w = max(w, tview.TaggedStringWidth(l)+4)
	}
	return w, len(c.lines) + 5
}

// Draw draws the text and the buttons.
func (c *Confirm) Draw(screen tcell.Screen) {
	c.SetBorderColor(c.theme.Focus)
	c.SetTitleColor(c.theme.Title)
	c.DrawForSubclass(screen, c)
	x, y, w, h := c.GetInnerRect()
	for i, l := range c.lines {
		if i >= h-2 {
			break
		}
		tview.Print(screen, tview.Escape(l), x+1, y+i, w-2, tview.AlignLeft, c.theme.Fg)
	}
	cancel, ok := "[ Cancel ]", "[ "+c.okLabel+" ]"
	if c.okFocus {
		ok = "> " + c.okLabel + " <"
	} else {
		cancel = "> Cancel <"
	}
	by := y + h - 1
	cx := x + 1
	c.button(screen, cancel, cx, by, !c.okFocus, c.theme.Fg)
	c.button(screen, ok, cx+len(cancel)+3, by, c.okFocus, c.theme.Err)
}

// button draws one button, reversed when focused.
func (c *Confirm) button(screen tcell.Screen, label string, x, y int, focused bool, fg tcell.Color) {
	st := tcell.StyleDefault.Foreground(fg)
	if focused {
		st = st.Attributes(tcell.AttrReverse | tcell.AttrBold)
	}
	for i, r := range label {
		screen.SetContent(x+i, y, r, nil, st)
	}
}

// InputHandler moves between the buttons and activates one.
func (c *Confirm) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return c.WrapInputHandler(func(ev *tcell.EventKey, _ func(tview.Primitive)) {
		switch ev.Key() {
		case tcell.KeyTab, tcell.KeyBacktab, tcell.KeyLeft, tcell.KeyRight:
			c.okFocus = !c.okFocus
		case tcell.KeyEscape:
			c.close()
		case tcell.KeyEnter:
			ok := c.okFocus
			c.close()
			if ok && c.onOK != nil {
				c.onOK()
			}
		case tcell.KeyRune:
			switch ev.Rune() {
			case 'h', 'l':
				c.okFocus = !c.okFocus
			}
		}
	})
}

// close runs onClose.
func (c *Confirm) close() {
	if c.onClose != nil {
		c.onClose()
	}
}
