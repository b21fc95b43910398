// Package view holds the dashboard's screens and widgets on tview: the
// overview, the Outbox, Nodes, Stuck, Rejected, Channels and Log panels,
// the help overlay, the command palette, the confirmation dialog, the
// inspector and the insert form, all composed by App. Views read the
// model package and never call the database themselves.
package view

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Theme holds the few colours the dashboard uses. Colour carries meaning
// only: errors, warnings, healthy nodes; everything else is the default.
type Theme struct {
	// Name is default, light or mono.
	Name string
	// Fg and Bg are the text and background colours.
	Fg, Bg tcell.Color
	// Border and Title colour panel frames; Focus frames the focused panel.
	Border, Title, Focus tcell.Color
	// Dim is for secondary text (headers, hints).
	Dim tcell.Color
	// Err, Warn and OK colour bad, doubtful and healthy states.
	Err, Warn, OK tcell.Color
	// Mono draws no colour at all (NO_COLOR): emphasis by attributes only.
	Mono bool
}

// ThemeNamed returns the theme called name; noColor (NO_COLOR set) forces
// mono. Unknown names give the default theme.
func ThemeNamed(name string, noColor bool) Theme {
	if noColor || name == "mono" {
		d := tcell.ColorDefault
		return Theme{Name: "mono", Fg: d, Bg: d, Border: d, Title: d, Focus: d, Dim: d, Err: d, Warn: d, OK: d, Mono: true}
	}
	if name == "light" {
		return Theme{Name: "light", Fg: tcell.ColorBlack, Bg: tcell.ColorDefault,
			Border: tcell.ColorGray, Title: tcell.ColorNavy, Focus: tcell.ColorBlue, Dim: tcell.ColorGray,
			Err: tcell.ColorMaroon, Warn: tcell.ColorOlive, OK: tcell.ColorGreen}
	}
	return Theme{Name: "default", Fg: tcell.ColorDefault, Bg: tcell.ColorDefault,
		Border: tcell.ColorGray, Title: tcell.ColorAqua, Focus: tcell.ColorAqua, Dim: tcell.ColorGray,
		Err: tcell.ColorRed, Warn: tcell.ColorYellow, OK: tcell.ColorGreen}
}

// tag returns a tview colour tag for c, or "" in mono.
func (t Theme) tag(c tcell.Color) string {
	if t.Mono || c == tcell.ColorDefault {
		return ""
	}
	return "[" + c.String() + "]"
}

// reset ends a tag opened by tag.
func (t Theme) reset(c tcell.Color) string {
	if t.Mono || c == tcell.ColorDefault {
		return ""
	}
	return "[-]"
}

// paint wraps s in c's tag (escaping s).
func (t Theme) paint(c tcell.Color, s string) string {
	return t.tag(c) + tview.Escape(s) + t.reset(c)
}

// Apply sets tview's global styles (forms, input fields) to the theme.
func (t Theme) Apply() {
	s := tview.Theme{
		PrimitiveBackgroundColor: t.Bg, ContrastBackgroundColor: t.Bg, MoreContrastBackgroundColor: t.Bg,
		BorderColor: t.Border, TitleColor: t.Title, GraphicsColor: t.Border,
		PrimaryTextColor: t.Fg, SecondaryTextColor: t.Title, TertiaryTextColor: t.Warn,
		InverseTextColor: t.Bg, ContrastSecondaryTextColor: t.Title,
	}
	if !t.Mono {
		s.ContrastBackgroundColor = tcell.ColorDarkSlateGray
		s.MoreContrastBackgroundColor = tcell.ColorGray
		if t.Name == "light" {
			s.ContrastBackgroundColor = tcell.ColorLightGray
		}
	}
	tview.Styles = s
}
