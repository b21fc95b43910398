package view

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// StuckPanel lists the rows the snapshot diagnosed as not moving, and
// below the table the diagnosis sentence and the advice for the selected
// row.
type StuckPanel struct {
	*tview.Flex
	list   *panel
	detail *tview.TextView
	env    *env
	rows   []monitor.Stuck
	marks  map[int64]bool
}

// newStuckPanel builds the Stuck view.
func newStuckPanel(e *env) *StuckPanel {
	s := &StuckPanel{env: e, marks: map[int64]bool{}}
	s.list = newPanel("Stuck", s, &e.theme, s.isMarked)
	s.list.extra = func() string {
		if e.state.Snap != nil && e.state.Snap.StuckTruncated > 0 {
			return "+" + strconv.Itoa(e.state.Snap.StuckTruncated) + " more"
		}
		return ""
	}
	s.detail = tview.NewTextView().SetWrap(true).SetWordWrap(true).SetDynamicColors(false)
	s.detail.SetBorder(true).SetTitle(" Diagnosis ")
	s.list.SetSelectionChangedFunc(func(int, int) { s.showDetail() })
	s.Flex = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(s.list, 0, 3, true).AddItem(s.detail, 5, 0, false)
	return s
}

// Name returns the title.
func (s *StuckPanel) Name() string { return "Stuck" }

// Filter returns the `/` filter.
func (s *StuckPanel) Filter() string { return s.list.filter }

// header implements rowSource.
func (s *StuckPanel) header() []string {
	return []string{"SEQ", "CHANNEL", "REASON", "LOCKED BY", "DIAGNOSIS"}
}

// count implements rowSource.
func (s *StuckPanel) count() int { return len(s.rows) }

// cell implements rowSource.
func (s *StuckPanel) cell(r, c int) (string, tcell.Color) {
	t := &s.env.theme
	st := s.rows[r]
	switch c {
	case 0:
		return strconv.FormatInt(st.SequenceID, 10), t.Fg
	case 1:
		return st.Channel, t.Fg
	case 2:
		return string(st.Reason), t.Err
	case 3:
		if st.LockedBy != nil {
			return *st.LockedBy, t.Fg
		}
		return "", t.Fg
	}
	return st.Detail, t.Fg
}

// isMarked reports whether row r is marked.
func (s *StuckPanel) isMarked(r int) bool { return r < len(s.rows) && s.marks[s.rows[r].SequenceID] }

// SetFilter filters by any field.
func (s *StuckPanel) SetFilter(q string) {
	s.list.filter = q
	s.Update()
}

// Update re-reads the snapshot.
func (s *StuckPanel) Update() {
	s.rows = s.rows[:0]
	m := model.NewMatcher(s.list.filter)
	if snap := s.env.state.Snap; snap != nil {
		for _, st := range snap.Stuck {
			by := ""
			if st.LockedBy != nil {
				by = *st.LockedBy
			}
			if m.Match(strconv.FormatInt(st.SequenceID, 10), st.Channel, string(st.Reason), by, st.Detail) {
				s.rows = append(s.rows, st)
			}
		}
	}
	s.list.clampSelection()
	s.showDetail()
}

// showDetail shows the selected row's diagnosis.
func (s *StuckPanel) showDetail() {
	r := s.list.row()
	conns := connectorDiagnosis(s.env.state.Snap)
	s.Flex.ResizeItem(s.detail, diagnosisHeight(conns), 0)
	if r < 0 || r >= len(s.rows) {
		s.detail.SetText(strings.TrimSpace("No stuck rows.\n\n" + conns))
		return
	}
	st := s.rows[r]
	text := st.Detail
	if st.Action != "" {
		text += "\n→ " + st.Action
	}
	if st.FixSQL != "" {
		text += "\nSQL: " + st.FixSQL
	}
	if st.ErrorCode != 0 {
		text += "\nAbly error " + strconv.Itoa(st.ErrorCode) + ": " + st.ErrorMessage
	}
	if conns != "" {
		text += "\n\n" + conns
	}
	s.detail.SetText(text)
}

// JourneyQuery implements tracer: Enter opens the selected row's journey
// (the diagnosis on top).
func (s *StuckPanel) JourneyQuery() (connector.JourneyQuery, string, bool) {
	r := s.list.row()
	if r < 0 || r >= len(s.rows) {
		return connector.JourneyQuery{}, "", false
	}
	id := s.rows[r].SequenceID
	return connector.JourneyQuery{SequenceID: id}, "row " + strconv.FormatInt(id, 10), true
}

// Inspect returns the selected stuck row as JSON.
func (s *StuckPanel) Inspect() (string, []byte, bool) {
	r := s.list.row()
	if r < 0 || r >= len(s.rows) {
		return "", nil, false
	}
	b, _ := json.Marshal(s.rows[r])
	return "Stuck row " + strconv.FormatInt(s.rows[r].SequenceID, 10), b, true
}

// ToggleMark marks or unmarks the selected row and moves down.
func (s *StuckPanel) ToggleMark() {
	r := s.list.row()
	if r < 0 || r >= len(s.rows) {
		return
	}
	id := s.rows[r].SequenceID
	if s.marks[id] {
		delete(s.marks, id)
	} else {
		s.marks[id] = true
	}
	if r+1 < len(s.rows) {
		s.list.Select(r+2, 0)
	}
}

// Targets returns the marked rows, or the selected one.
func (s *StuckPanel) Targets() []int64 {
	if len(s.marks) > 0 {
		ids := make([]int64, 0, len(s.marks))
		for id := range s.marks {
			ids = append(ids, id)
		}
		sortInt64(ids)
		return ids
	}
	if r := s.list.row(); r >= 0 && r < len(s.rows) {
		return []int64{s.rows[r].SequenceID}
	}
	return nil
}

// ClearMarks forgets the marks.
func (s *StuckPanel) ClearMarks() { s.marks = map[int64]bool{} }

// FilterParams selects every stuck row (the `/` text filters by content).
func (s *StuckPanel) FilterParams() monitor.OutboxActionParams {
	return monitor.OutboxActionParams{ByFilter: true, Filter: monitor.StuckRows, Text: s.list.filter}
}
