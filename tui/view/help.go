package view

import (
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// Help is the `?` overlay: the key table (the same one that drives the
// footer and read-only mode) plus the palette commands, searchable with `/`.
type Help struct {
	*tview.Flex
	table    *tview.Table
	search   *tview.InputField
	theme    *Theme
	all      [][3]string
	searchOn bool
	onClose  func()
}

// NewHelp builds the overlay from the visible bindings and commands.
func NewHelp(theme *Theme, bindings []model.Binding, commands []string, onClose func()) *Help {
	h := &Help{theme: theme, onClose: onClose, table: tview.NewTable(), search: tview.NewInputField()}
	for _, b := range bindings {
		d := b.Help
		if d == "" {
			d = b.Description
		}
		h.all = append(h.all, [3]string{model.KeyLabel(b.Key), string(b.Action), d})
	}
	for _, c := range commands {
		h.all = append(h.all, [3]string{":" + c, "command", describeCommand(c)})
	}
	h.search.SetLabel("/").SetFieldBackgroundColor(theme.Bg).SetChangedFunc(func(string) { h.fill() })
	h.table.SetSelectable(true, false).SetFixed(1, 0)
	h.table.SetSelectedStyle(selectedStyle(theme))
	h.Flex = tview.NewFlex().SetDirection(tview.FlexRow)
	h.Flex.AddItem(h.table, 0, 1, true)
	h.SetBorder(true).SetTitle(" Help ").SetTitleColor(theme.Title).SetBorderColor(theme.Focus)
	h.fill()
	return h
}

// fill shows the rows matching the search.
func (h *Help) fill() {
	h.table.Clear()
	for i, t := range []string{"KEY", "ACTION", "DESCRIPTION"} {
		h.table.SetCell(0, i, tview.NewTableCell(t).SetSelectable(false).SetTextColor(h.theme.Dim))
	}
	m := model.NewMatcher(h.search.GetText())
	r := 1
	for _, row := range h.all {
		if !m.Match(row[0], row[1], row[2]) {
			continue
		}
		for i, t := range row {
			h.table.SetCell(r, i, tview.NewTableCell(tview.Escape(t)).SetTextColor(h.theme.Fg).SetExpansion(i/2))
		}
		r++
	}
	h.table.Select(1, 0)
}

// Rows returns the visible rows as "key action description" lines.
func (h *Help) Rows() []string {
	var out []string
	for r := 1; r < h.table.GetRowCount(); r++ {
		var parts []string
		for c := 0; c < 3; c++ {
			parts = append(parts, h.table.GetCell(r, c).Text)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// Searching reports whether the `/` search field has the keys.
func (h *Help) Searching() bool { return h.searchOn }

// InputHandler handles `/` search, Esc and scrolling.
func (h *Help) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return h.WrapInputHandler(func(ev *tcell.EventKey, setFocus func(tview.Primitive)) {
		if h.searchOn {
			switch ev.Key() {
			case tcell.KeyEscape:
				h.search.SetText("")
				h.endSearch()
			case tcell.KeyEnter, tcell.KeyDown, tcell.KeyUp:
				h.endSearch()
			default:
				h.search.InputHandler()(ev, setFocus)
			}
			return
		}
		switch {
		case ev.Key() == tcell.KeyEscape || (ev.Key() == tcell.KeyRune && (ev.Rune() == 'q' || ev.Rune() == '?')):
			if h.onClose != nil {
				h.onClose()
			}
		case ev.Key() == tcell.KeyRune && ev.Rune() == '/':
			h.searchOn = true
			h.Flex.Clear()
			h.Flex.AddItem(h.search, 1, 0, true).AddItem(h.table, 0, 1, false)
			h.search.Focus(nil)
		default:
			h.table.InputHandler()(ev, setFocus)
		}
	})
}

// endSearch leaves the search field, keeping it visible while it filters.
func (h *Help) endSearch() {
	h.searchOn = false
	h.search.Blur()
	if h.search.GetText() == "" {
		h.Flex.Clear()
		h.Flex.AddItem(h.table, 0, 1, true)
	}
}

// Inspector shows a row or message as pretty JSON with sorted keys and
// exact numbers. `c` copies it (the App handles that); Esc closes.
type Inspector struct {
	*tview.TextView
	raw     []byte
	onClose func()
}

// NewInspector builds an inspector over the JSON document raw.
func NewInspector(theme *Theme, title string, raw []byte, onClose func()) *Inspector {
	i := &Inspector{TextView: tview.NewTextView(), raw: raw, onClose: onClose}
	i.SetText(model.PrettyJSON(raw)).SetWrap(false)
	i.SetBorder(true).SetTitle(" " + tview.Escape(title) + " (c copies, esc closes) ").
		SetTitleColor(theme.Title).SetBorderColor(theme.Focus)
	return i
}

// JSON returns the pretty document (what `c` copies).
func (i *Inspector) JSON() string { return model.PrettyJSON(i.raw) }

// InputHandler scrolls and closes.
func (i *Inspector) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return i.WrapInputHandler(func(ev *tcell.EventKey, setFocus func(tview.Primitive)) {
		if ev.Key() == tcell.KeyEscape || ev.Key() == tcell.KeyEnter || (ev.Key() == tcell.KeyRune && ev.Rune() == 'q') {
			if i.onClose != nil {
				i.onClose()
			}
			return
		}
		i.TextView.InputHandler()(ev, setFocus)
	})
}

// describeCommand is a palette command's help: commandHelp by name and
// subcommand, then by name, else "switch to" the view.
func describeCommand(c string) string {
	f := strings.Fields(c)
	if len(f) > 1 {
		if d, ok := commandHelp[f[0]+" "+f[1]]; ok {
			return d
		}
	}
	if len(f) > 0 {
		if d, ok := commandHelp[f[0]]; ok {
			return d
		}
	}
	return "switch to " + c
}
