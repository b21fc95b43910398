package view

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// rowSource supplies a virtual table: a header and cells computed on demand,
// so a table never holds more than what is drawn (tview.TableContent).
type rowSource interface {
	// header names the columns.
	header() []string
	// count is the number of data rows.
	count() int
	// cell returns the text and colour of data row r, column c.
	cell(r, c int) (string, tcell.Color)
}

// content adapts a rowSource to tview.TableContent, with a fixed header row.
type content struct {
	tview.TableContentReadOnly
	src    rowSource
	theme  *Theme
	marked func(r int) bool
}

// GetRowCount implements tview.TableContent.
func (c *content) GetRowCount() int { return 1 + c.src.count() }

// GetColumnCount implements tview.TableContent.
func (c *content) GetColumnCount() int { return len(c.src.header()) }

// GetCell implements tview.TableContent.
func (c *content) GetCell(row, col int) *tview.TableCell {
	h := c.src.header()
	if col < 0 || col >= len(h) {
		return nil
	}
	if row == 0 {
		cell := tview.NewTableCell(h[col]).SetSelectable(false).SetAttributes(tcell.AttrBold)
		return cell.SetTextColor(c.theme.Dim).SetMaxWidth(0)
	}
	if row-1 >= c.src.count() {
		return nil
	}
	text, color := c.src.cell(row-1, col)
	if col == 0 && c.marked != nil {
		if c.marked(row - 1) {
			text = "*" + text
		} else {
			text = " " + text
		}
	}
	cell := tview.NewTableCell(tview.Escape(text)).SetTextColor(color)
	if col == len(h)-1 {
		cell.SetExpansion(1)
	} else {
		cell.SetMaxWidth(40)
	}
	return cell
}

// panel is a bordered virtual table with a title and a `/` filter.
type panel struct {
	*tview.Table
	title  string
	filter string
	theme  *Theme
	extra  func() string // extra title text (e.g. "paused")
}

// newPanel builds a panel over src.
func newPanel(title string, src rowSource, theme *Theme, marked func(int) bool) *panel {
	p := &panel{Table: tview.NewTable(), title: title, theme: theme}
	p.SetContent(&content{src: src, theme: theme, marked: marked})
	p.SetFixed(1, 0).SetSelectable(true, false)
	p.SetBorder(true)
	p.Select(1, 0)
	return p
}

// Name returns the panel title.
func (p *panel) Name() string { return p.title }

// Filter returns the `/` filter.
func (p *panel) Filter() string { return p.filter }

// row returns the selected data row, or -1.
func (p *panel) row() int {
	r, _ := p.GetSelection()
	n := p.GetRowCount() - 1
	if n <= 0 {
		return -1
	}
	if r < 1 || r > n {
		return -1
	}
	return r - 1
}

// clampSelection keeps the selection on a data row after the data shrank.
func (p *panel) clampSelection() {
	r, _ := p.GetSelection()
	n := p.GetRowCount() - 1
	switch {
	case n <= 0:
		p.Select(1, 0)
	case r > n:
		p.Select(n, 0)
	case r < 1:
		p.Select(1, 0)
	}
}

// Draw draws the panel with its title, filter and focus colour.
func (p *panel) Draw(screen tcell.Screen) {
	t := " " + p.title
	if p.filter != "" {
		t += " /" + p.filter
	}
	if p.extra != nil {
		if e := p.extra(); e != "" {
			t += " " + e
		}
	}
	t += " "
	p.SetTitle(tview.Escape(t))
	p.SetTitleColor(p.theme.Title)
	if p.HasFocus() {
		p.SetBorderColor(p.theme.Focus)
		p.SetBorderAttributes(tcell.AttrBold)
	} else {
		p.SetBorderColor(p.theme.Border)
		p.SetBorderAttributes(0)
	}
	p.SetSelectedStyle(selectedStyle(p.theme))
	p.Table.Draw(screen)
}

// selectedStyle is the selection highlight: reverse video works everywhere.
func selectedStyle(t *Theme) tcell.Style {
	return tcell.StyleDefault.Attributes(tcell.AttrReverse)
}
