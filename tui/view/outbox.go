package view

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// OutboxPanel is a virtual table of outbox rows paged by keyset (the
// Outbox and Rejected views), with a status per row and marks for bulk
// actions. The `/` filter is applied by the database (OutboxListParams.Text).
type OutboxPanel struct {
	*panel
	env   *env
	pager *pager
	marks map[int64]bool
	rows  monitor.Filter
}

// newOutboxPanel builds the panel for rows matching filter.
func newOutboxPanel(title string, e *env, filter monitor.Filter) *OutboxPanel {
	o := &OutboxPanel{env: e, marks: map[int64]bool{}, rows: filter}
	o.pager = newPager(e.src, e, filter, nil)
	o.panel = newPanel(title, o, &e.theme, o.isMarked)
	o.extra = func() string {
		if o.pager.err != nil {
			return "error: " + o.pager.err.Error()
		}
		if n := len(o.marks); n > 0 {
			return strconv.Itoa(n) + " marked"
		}
		return ""
	}
	return o
}

// header implements rowSource.
func (o *OutboxPanel) header() []string {
	return []string{"SEQ", "CHANNEL", "NAME", "STATUS", "LOCKED BY", "MUTATION", "DATA"}
}

// count implements rowSource.
func (o *OutboxPanel) count() int { return o.pager.count() }

// cell implements rowSource.
func (o *OutboxPanel) cell(r, c int) (string, tcell.Color) {
	row, ok := o.pager.row(r)
	if !ok {
		if c == 0 {
			return "…", o.env.theme.Dim
		}
		return "", o.env.theme.Dim
	}
	switch c {
	case 0:
		return strconv.FormatInt(row.SequenceID, 10), o.env.theme.Fg
	case 1:
		return row.Channel, o.env.theme.Fg
	case 2:
		return row.Name, o.env.theme.Fg
	case 3:
		return o.status(row)
	case 4:
		if row.LockedBy != nil {
			return *row.LockedBy, o.env.theme.Fg
		}
		return "", o.env.theme.Fg
	case 5:
		return row.MutationID, o.env.theme.Dim
	}
	return oneLine(string(row.Data)), o.env.theme.Fg
}

// status says where a row is: tombstone, stuck (red, with the reason),
// locked, pending; "+rejected" marks rejections (data, not an error).
func (o *OutboxPanel) status(row monitor.Row) (string, tcell.Color) {
	t := &o.env.theme
	s, col := "pending", t.Fg
	switch {
	case row.Processed:
		s, col = "tombstone", t.Dim
	case o.stuckReason(row.SequenceID) != "":
		s, col = "stuck:"+o.stuckReason(row.SequenceID), t.Err
	case row.LockExpiry != nil && row.LockExpiry.After(o.env.dbNow()):
		s = "locked " + fmtAge(row.LockExpiry.Sub(o.env.dbNow()).Seconds())
	}
	if row.Rejected {
		s += " +rejected"
	}
	return s, col
}

// stuckReason returns the snapshot's reason for a stuck row, or "".
func (o *OutboxPanel) stuckReason(seq int64) string {
	if o.env.state.Snap == nil {
		return ""
	}
	for _, s := range o.env.state.Snap.Stuck {
		if s.SequenceID == seq {
			return string(s.Reason)
		}
	}
	return ""
}

// isMarked reports whether data row r is marked.
func (o *OutboxPanel) isMarked(r int) bool {
	row, ok := o.pager.row(r)
	return ok && o.marks[row.SequenceID]
}

// filterOnEnter makes `/` apply on Enter: each filter is a query.
func (o *OutboxPanel) filterOnEnter() bool { return true }

// SetFilter sets the `/` filter (a case-insensitive substring the database
// looks for in channel, name, mutation id, data and headers) and reloads
// from the first page.
func (o *OutboxPanel) SetFilter(q string) {
	if q == o.panel.filter && o.pager.loaded {
		return
	}
	o.panel.filter = q
	o.pager.setText(q)
	o.Select(1, 0)
}

// Update refetches the pages on screen.
func (o *OutboxPanel) Update() {
	off, _ := o.GetOffset()
	_, _, _, h := o.GetInnerRect()
	o.pager.refresh(off, off+max(h, 1))
	o.clampSelection()
}

// current returns the selected row.
func (o *OutboxPanel) current() (monitor.Row, bool) {
	r := o.row()
	if r < 0 {
		return monitor.Row{}, false
	}
	return o.pager.row(r)
}

// JourneyQuery implements tracer: Enter opens the selected row's journey.
func (o *OutboxPanel) JourneyQuery() (connector.JourneyQuery, string, bool) {
	row, ok := o.current()
	if !ok {
		return connector.JourneyQuery{}, "", false
	}
	return connector.JourneyQuery{SequenceID: row.SequenceID}, "row " + strconv.FormatInt(row.SequenceID, 10), true
}

// Inspect returns the selected row as JSON.
func (o *OutboxPanel) Inspect() (string, []byte, bool) {
	row, ok := o.current()
	if !ok {
		return "", nil, false
	}
	b, _ := json.Marshal(rowJSON(row))
	return "Row " + strconv.FormatInt(row.SequenceID, 10), b, true
}

// rowJSON is a row as the inspector and the clipboard show it.
func rowJSON(r monitor.Row) map[string]any {
	m := map[string]any{
		"sequenceId": r.SequenceID, "mutationId": r.MutationID, "channel": r.Channel,
		"name": r.Name, "rejected": r.Rejected, "processed": r.Processed,
		"data": rawOrNull(r.Data), "headers": rawOrNull(r.Headers), "lockedBy": r.LockedBy,
	}
	if r.LockExpiry != nil {
		m["lockExpiry"] = r.LockExpiry.UTC().Format(time.RFC3339Nano)
	} else {
		m["lockExpiry"] = nil
	}
	return m
}

// rawOrNull keeps JSON as written; empty is null.
func rawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// ToggleMark marks or unmarks the selected row and moves down.
func (o *OutboxPanel) ToggleMark() {
	row, ok := o.current()
	if !ok {
		return
	}
	if o.marks[row.SequenceID] {
		delete(o.marks, row.SequenceID)
	} else {
		o.marks[row.SequenceID] = true
	}
	r, _ := o.GetSelection()
	if r < o.GetRowCount()-1 {
		o.Select(r+1, 0)
	}
}

// Targets returns the marked rows, or the selected one.
func (o *OutboxPanel) Targets() []int64 {
	if len(o.marks) > 0 {
		ids := make([]int64, 0, len(o.marks))
		for id := range o.marks {
			ids = append(ids, id)
		}
		sortInt64(ids)
		return ids
	}
	if row, ok := o.current(); ok {
		return []int64{row.SequenceID}
	}
	return nil
}

// ClearMarks forgets the marks (after an action).
func (o *OutboxPanel) ClearMarks() { o.marks = map[int64]bool{} }

// FilterParams returns the action params selecting every row of the
// current filter.
func (o *OutboxPanel) FilterParams() monitor.OutboxActionParams {
	return monitor.OutboxActionParams{ByFilter: true, Filter: o.rows, Text: o.panel.filter}
}

// Draw draws the table without tview's end tracking: a table that was
// once shorter than the screen would otherwise chase its end as pages
// arrive, loading page after page.
func (o *OutboxPanel) Draw(screen tcell.Screen) {
	r, c := o.GetOffset()
	o.SetOffset(r, c)
	o.panel.Draw(screen)
}

// HoldTarget returns the selected row's id (for outbox hold).
func (o *OutboxPanel) HoldTarget() (int64, bool) {
	row, ok := o.current()
	return row.SequenceID, ok
}
