package view

import (
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// flashFor is how long a footer message stays.
const flashFor = 5 * time.Second

// prompt is the footer's input line: `:` runs a command, `/` filters the
// focused panel as you type.
type prompt struct {
	*tview.InputField
	kind   rune
	before string // the filter before `/` was pressed (Esc restores it)
}

// isLive reports whether a panel filters as you type; panels whose filter
// runs in the database (the outbox pages) filter on Enter instead.
func isLive(p Panel) bool {
	d, ok := p.(interface{ filterOnEnter() bool })
	return !ok || !d.filterOnEnter()
}

// HandleKey is the single entry point for keys: the open overlay first,
// then the prompt, then Ctrl-C, then the key table, then the focused panel.
func (a *App) HandleKey(ev *tcell.EventKey) {
	if a.overlay != nil {
		a.overlayKey(ev)
		return
	}
	if ev.Key() == tcell.KeyCtrlC {
		a.quit()
		return
	}
	if a.prompt != nil {
		a.promptKey(ev)
		return
	}
	if act, ok := a.lookup(ev); ok {
		if a.do(act) {
			return
		}
	}
	if h := a.Focused().InputHandler(); h != nil {
		h(ev, a.focus)
	}
}

// overlayKey routes a key to the overlay; `c` in the inspector copies.
func (a *App) overlayKey(ev *tcell.EventKey) {
	if ins, ok := a.overlay.(*Inspector); ok && ev.Key() == tcell.KeyRune && ev.Rune() == 'c' {
		a.copyText(ins.JSON())
		return
	}
	if ev.Key() == tcell.KeyCtrlC {
		a.quit()
		return
	}
	if j, ok := a.overlay.(*JourneyView); ok && a.journeyKey(j, ev) {
		return
	}
	if h := a.overlay.InputHandler(); h != nil {
		h(ev, a.focus)
	}
}

// promptKey edits the prompt line; Enter runs or keeps, Esc cancels.
func (a *App) promptKey(ev *tcell.EventKey) {
	p := a.prompt
	switch ev.Key() {
	case tcell.KeyEnter:
		a.closePrompt()
		switch {
		case p.kind == ':':
			a.Command(p.GetText())
		case !isLive(a.Focused()):
			a.Focused().SetFilter(p.GetText())
		}
	case tcell.KeyEscape:
		a.closePrompt()
		if p.kind == '/' {
			a.Focused().SetFilter(p.before)
		}
	default:
		p.InputHandler()(ev, a.focus)
	}
}

// openPrompt shows the `:` or `/` prompt.
func (a *App) openPrompt(kind rune) {
	p := &prompt{InputField: tview.NewInputField(), kind: kind}
	p.SetLabel(string(kind)).SetFieldBackgroundColor(a.env.theme.Bg).SetFieldTextColor(a.env.theme.Fg).
		SetLabelColor(a.env.theme.Title)
	if kind == '/' {
		p.before = a.Focused().Filter()
		p.SetText(p.before)
		if !isLive(a.Focused()) {
			p.SetPlaceholder("text to find in the database; Enter searches")
		}
		p.SetChangedFunc(func(text string) {
			if f := a.Focused(); isLive(f) {
				f.SetFilter(text)
			}
		})
	} else {
		p.SetAutocompleteFunc(a.complete)
	}
	a.prompt = p
	a.focus(p)
}

// closePrompt hides the prompt.
func (a *App) closePrompt() {
	a.prompt = nil
	a.focusPanel()
}

// focus gives p the focus, as tview.Application.SetFocus would.
func (a *App) focus(p tview.Primitive) {
	if a.focused != nil && a.focused != p {
		a.focused.Blur()
	}
	a.focused = p
	if p != nil {
		p.Focus(a.focus)
	}
}

// focusPanel focuses the current screen's focused panel.
func (a *App) focusPanel() {
	if a.overlay != nil {
		a.focus(a.overlay)
		return
	}
	a.focus(a.Focused())
}

// openOverlay shows p above everything.
func (a *App) openOverlay(p tview.Primitive) {
	a.overlay = p
	a.focus(p)
}

// closeOverlay hides the overlay.
func (a *App) closeOverlay() {
	a.overlay = nil
	a.focusPanel()
}

// SetScreen switches to view s.
func (a *App) SetScreen(s Screen) {
	a.screen = s
	for _, p := range a.panels(s) {
		p.Update()
	}
	a.focusPanel()
}

// setFlash shows a footer message.
func (a *App) setFlash(msg string, isErr bool) {
	a.flash, a.flashErr, a.flashAt = msg, isErr, a.env.now()
}

// quit stops the application.
func (a *App) quit() {
	if a.opts.Quit != nil {
		a.opts.Quit()
	}
}

// copyText puts s on the clipboard.
func (a *App) copyText(s string) {
	if a.opts.Copy == nil {
		a.setFlash("no clipboard", true)
		return
	}
	a.opts.Copy([]byte(s))
	a.setFlash("copied "+plural(len(s), "byte")+" of JSON to the clipboard (OSC 52)", false)
}

// screenKeys maps view actions to screens.
var screenKeys = map[model.Action]Screen{
	model.ActDashboard: ScreenDashboard, model.ActOutbox: ScreenOutbox, model.ActNodes: ScreenNodes,
	model.ActStuck: ScreenStuck, model.ActRejected: ScreenRejected, model.ActChannels: ScreenChannels,
	model.ActLog: ScreenLog,
}

// do runs an action; false passes the key on to the panel.
func (a *App) do(act model.Action) bool {
	if s, ok := screenKeys[act]; ok {
		a.SetScreen(s)
		return true
	}
	p := a.Focused()
	switch act {
	case model.ActQuit:
		a.quit()
	case model.ActHelp:
		a.openHelp()
	case model.ActPalette:
		a.openPrompt(':')
	case model.ActFilter:
		a.openPrompt('/')
	case model.ActBack:
		a.back()
	case model.ActInspect:
		if c, ok := p.(chooser); ok {
			c.Choose()
			a.focusIdx[a.screen]++
			a.focusPanel()
			return true
		}
		if t, ok := p.(tracer); ok {
			if q, title, ok := t.JourneyQuery(); ok {
				a.openJourney(q, title)
				return true
			}
		}
		a.inspect()
	case model.ActCopy:
		if _, doc, ok := p.Inspect(); ok {
			a.copyText(model.PrettyJSON(doc))
		}
	case model.ActMark:
		if r, ok := p.(rowActor); ok {
			r.ToggleMark()
		}
	case model.ActRetry, model.ActDelete, model.ActRetryFiltered, model.ActDeleteFiltered:
		a.confirmAction(act)
	case model.ActInsert:
		a.openInsert("")
	case model.ActNodeKill, model.ActNodePause, model.ActNodeResume:
		a.confirmNode(act)
	case model.ActHold:
		a.confirmHold(0, defaultHold)
	case model.ActNextStep:
		a.nextStep()
	case model.ActRefresh:
		a.Refresh()
	case model.ActFollow:
		switch f := p.(type) {
		case *TailPanel:
			f.Follow(!f.Following())
		case *LogPanel:
			f.Follow(!f.f.follow)
		default:
			return false
		}
	case model.ActNextPanel:
		a.focusIdx[a.screen] = (a.focusIdx[a.screen] + 1) % len(a.panels(a.screen))
		a.focusPanel()
	default:
		return false
	}
	return true
}

// back backs out one level: clear the filter, then return to the
// dashboard.
func (a *App) back() {
	if p := a.Focused(); p.Filter() != "" {
		p.SetFilter("")
		return
	}
	if a.screen != ScreenDashboard {
		a.SetScreen(ScreenDashboard)
	}
}

// inspect opens the inspector on the selected item.
func (a *App) inspect() {
	title, doc, ok := a.Focused().Inspect()
	if !ok {
		return
	}
	a.openOverlay(NewInspector(&a.env.theme, title, doc, a.closeOverlay))
}

// openHelp opens the help overlay.
func (a *App) openHelp() {
	a.openOverlay(NewHelp(&a.env.theme, a.bindings(), a.commandNames(), a.closeOverlay))
}

// bindings returns the key table as it applies now: without the writes in
// read-only mode, and without the narration's keys when no demo narrates.
func (a *App) bindings() []model.Binding {
	var out []model.Binding
	for _, b := range a.keys.Bindings(a.readonly) {
		if b.Narrating && a.narration == nil {
			continue
		}
		out = append(out, b)
	}
	return out
}

// lookup resolves a key through the table as it applies now (bindings).
func (a *App) lookup(ev *tcell.EventKey) (model.Action, bool) {
	act, ok := a.keys.Lookup(ev, a.readonly)
	if !ok {
		return "", false
	}
	if b, _ := a.keys.Binding(act); b.Narrating && a.narration == nil {
		return "", false
	}
	return act, true
}
