package view

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/monitor"
)

// overviewHeight is the number of lines the always-visible overview takes.
const overviewHeight = 5

// Overview is the always-visible header: connector state per node,
// backlog, oldest pending and claimable ages, insert and publish rates with
// sparklines, rows awaiting an ACK, stuck, rejected, errors and warnings.
// Colour appears only where it means something.
type Overview struct {
	*tview.Box
	app *App
}

// newOverview builds the header of app.
func newOverview(a *App) *Overview { return &Overview{Box: tview.NewBox(), app: a} }

// Lines returns the overview's lines with colour tags, for width columns.
func (o *Overview) Lines(width int) []string {
	a := o.app
	t := &a.env.theme
	st := a.env.state
	now := a.env.now()
	title := "[::b]livesync-dev[::-]"
	if a.opts.External {
		title += " " + t.paint(t.Warn, "EXTERNAL")
	}
	if a.readonly {
		title += " " + t.paint(t.Warn, "READ-ONLY")
	}
	title += "  " + tview.Escape(a.env.dbNow().Format("15:04:05")) + " UTC"
	if f := o.faultsSegment(); f != "" {
		title += "  " + f
	}
	if a.configErr != "" {
		title += "  " + t.paint(t.Warn, "running config kept; config: "+a.configErr)
	}
	if st.SnapErr != nil {
		title += "  " + t.paint(t.Err, "snapshot failed: "+st.SnapErr.Error())
	}
	nodes := o.nodesLine(now)
	if m := o.mongoSegment(); m != "" {
		nodes += "  " + m
	}
	lines := []string{title, nodes, "", "", ""}
	s := st.Snap
	if s == nil {
		lines[2] = t.paint(t.Dim, "waiting for the first snapshot…")
		return lines
	}
	ob := s.Outbox
	mark := func(atLeast bool) string {
		switch {
		case ob.Estimated:
			return t.paint(t.Warn, "~")
		case atLeast:
			return t.paint(t.Warn, "≥")
		}
		return ""
	}
	threshold := a.cfg.StuckThreshold.Seconds()
	lines[2] = "Backlog " + mark(ob.PendingAtLeast) + fmtCount(ob.Pending) +
		"  oldest " + o.age(ob.OldestPendingAgeSeconds, threshold) +
		"  claimable " + o.age(ob.OldestClaimableAgeSeconds, threshold) +
		"  awaiting ACK " + mark(ob.LockedAtLeast) + fmtCount(ob.Locked)
	lines[2] = o.withStages(lines[2], width)
	spark := min(max((width-44)/2, 4), 30)
	lines[3] = "Insert " + pad(fmtRate(s.Rates.InsertPerSecond), 9) + t.paint(t.Dim, Sparkline(ringValues(st.Insert.Len(), st.Insert.At, st.Insert.Base()), spark)) +
		"  Publish " + pad(fmtRate(s.Rates.PublishPerSecond), 9) + t.paint(t.Dim, Sparkline(ringValues(st.Publish.Len(), st.Publish.At, st.Publish.Base()), spark))
	stuck := len(s.Stuck) + s.StuckTruncated
	errs := st.Errors + int64(len(st.Blocked))
	l4 := o.count("Stuck", int64(stuck), t.Err) + "  " +
		"Rejected " + mark(ob.RejectedPendingAtLeast) + fmtCount(ob.RejectedPending) + "  " +
		o.count("Errors", errs, t.Err) + "  " +
		o.count("Warnings", int64(len(s.Warnings)), t.Warn)
	if len(s.Warnings) > 0 {
		l4 += " " + t.paint(t.Dim, s.Warnings[0].Code)
	}
	if !s.Trigger.Correct {
		l4 += "  " + t.paint(t.Err, "trigger: "+orDefault(s.Trigger.Detail, "missing"))
	}
	lines[4] = l4
	return lines
}

// nodesLine renders each node's connector state.
func (o *Overview) nodesLine(now time.Time) string {
	a := o.app
	t := &a.env.theme
	st := a.env.state
	if st.Snap == nil {
		return "Nodes " + t.paint(t.Dim, "–")
	}
	if len(st.Snap.Nodes) == 0 {
		return "Nodes " + t.paint(t.Err, "none: nothing publishes")
	}
	nodes := append([]monitor.Node(nil), st.Snap.Nodes...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	parts := make([]string, 0, len(nodes))
	for _, n := range nodes {
		left := st.ExpiresIn(n, now)
		word, col := nodeState(t, st, n, left.Seconds())
		lease := fmtAge(left.Seconds())
		if left <= 0 {
			lease = "expired"
		}
		parts = append(parts, tview.Escape(n.ID)+" "+t.paint(col, word)+" "+lease)
	}
	return "Nodes " + strings.Join(parts, "  ")
}

// age renders an optional age, red past the stuck threshold.
func (o *Overview) age(sec *float64, threshold float64) string {
	t := &o.app.env.theme
	if sec == nil {
		return "–"
	}
	if threshold > 0 && *sec >= threshold {
		return t.paint(t.Err, fmtAge(*sec))
	}
	return fmtAge(*sec)
}

// count renders "Label n", coloured only when n > 0.
func (o *Overview) count(label string, n int64, c tcell.Color) string {
	if n == 0 {
		return label + " 0"
	}
	return o.app.env.theme.paint(c, label+" "+fmtCount(n))
}

// Draw draws the lines.
func (o *Overview) Draw(screen tcell.Screen) {
	x, y, w, h := o.GetRect()
	for i, l := range o.Lines(w) {
		if i >= h {
			break
		}
		tview.Print(screen, l, x, y+i, w, tview.AlignLeft, o.app.env.theme.Fg)
	}
}

// ringValues copies a ring's values.
func ringValues(n int, at func(uint64) (float64, bool), base uint64) []float64 {
	out := make([]float64, 0, n)
	for i := range n {
		v, _ := at(base + uint64(i))
		out = append(out, v)
	}
	return out
}

// pad pads s to n columns.
func pad(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}

// orDefault returns s, or d when s is empty.
func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// plural renders "n word(s)".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
