package view

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// journeyTimeout bounds one trace (the outbox, every live node, the
// endpoint).
const journeyTimeout = 10 * time.Second

// tracer is a panel whose selected item is an outbox row with a journey.
type tracer interface {
	// JourneyQuery returns the selected row's query and a title; ok is
	// false when the selection is not a row (a message id that is not a
	// sequence id, an empty table).
	JourneyQuery() (q connector.JourneyQuery, title string, ok bool)
}

// journeyKeys are the journey view's keys: the dashboard's own actions
// (remapped with them under dashboard.keys), with what each does there.
// They feed the view's hint line; the help overlay and README say the
// same through each action's Help.
var journeyKeys = []struct {
	Action      model.Action
	Description string
}{
	{model.ActInspect, "JSON of the row"},
	{model.ActCopy, "copy journey JSON"},
	{model.ActRefresh, "trace again"},
	{model.ActBack, "close"},
}

// JourneyView is the overlay Enter opens on an outbox row or a message:
// the row's journey from monitor.Monitor.RowJourney (what `outbox trace`
// prints), one line per stage with the time, the time since commit and
// the delta; the slowest stage highlighted; a stuck row's diagnosis on
// top; a row that is nowhere says so.
type JourneyView struct {
	*tview.Box
	theme   *Theme
	hints   string
	query   connector.JourneyQuery
	journey *monitor.Journey
	err     error
	loading bool
	lines   []monitor.JourneyLine
	offset  int
}

// newJourneyView builds the view for q, loading until show is called.
func newJourneyView(theme *Theme, title, hints string, q connector.JourneyQuery) *JourneyView {
	v := &JourneyView{Box: tview.NewBox(), theme: theme, hints: hints, query: q, loading: true}
	v.SetBorder(true).SetTitle(" Journey of " + tview.Escape(title) + " ").SetTitleColor(theme.Title).SetBorderColor(theme.Focus)
	return v
}

// show displays a finished trace.
func (v *JourneyView) show(j *monitor.Journey, err error) {
	v.loading, v.journey, v.err = false, j, err
	v.lines = nil
	if j != nil {
		v.lines = j.Lines()
	}
	v.offset = min(v.offset, max(len(v.lines)-1, 0))
}

// Query returns what the view traces.
func (v *JourneyView) Query() connector.JourneyQuery { return v.query }

// Journey returns the trace shown (nil while loading or after an error).
func (v *JourneyView) Journey() *monitor.Journey { return v.journey }

// JSON returns the journey as indented JSON (what copy copies).
func (v *JourneyView) JSON() string {
	if v.journey == nil {
		return ""
	}
	b, _ := json.MarshalIndent(v.journey, "", "  ")
	return string(b)
}

// Draw draws the lines, coloured by kind, and the key hints at the bottom.
func (v *JourneyView) Draw(screen tcell.Screen) {
	v.Box.DrawForSubclass(screen, v)
	x, y, w, h := v.GetInnerRect()
	if w <= 0 || h <= 0 {
		return
	}
	t := v.theme
	bodyH := max(h-1, 0)
	switch {
	case v.loading:
		tview.Print(screen, "tracing "+tview.Escape(queryText(v.query))+"…", x, y, w, tview.AlignLeft, t.Dim)
	case v.err != nil:
		tview.Print(screen, tview.Escape("trace failed: "+oneLine(v.err.Error())), x, y, w, tview.AlignLeft, t.Err)
	default:
		for i := 0; i < bodyH && v.offset+i < len(v.lines); i++ {
			tview.Print(screen, v.styled(v.lines[v.offset+i]), x, y+i, w, tview.AlignLeft, t.Fg)
		}
	}
	tview.Print(screen, tview.Escape(v.hints), x, y+h-1, w, tview.AlignLeft, t.Dim)
}

// styled renders one line with its kind's colour: the head in bold, a
// diagnosis and failed steps in the error colour, the slowest stage in
// the warning colour and bold (bold alone in mono), headers and notes dim.
func (v *JourneyView) styled(l monitor.JourneyLine) string {
	t := v.theme
	text := tview.Escape(l.Text)
	switch l.Kind {
	case monitor.LineHead:
		return "[::b]" + text + "[::-]"
	case monitor.LineDiagnosis, monitor.LineError:
		return t.tag(t.Err) + text + t.reset(t.Err)
	case monitor.LineSlowest:
		return t.tag(t.Warn) + "[::b]" + text + "[::-]" + t.reset(t.Warn)
	case monitor.LineColumns, monitor.LineNote:
		return t.tag(t.Dim) + text + t.reset(t.Dim)
	}
	return text
}

// InputHandler scrolls; the App handles the journey's action keys.
func (v *JourneyView) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return v.WrapInputHandler(func(ev *tcell.EventKey, _ func(tview.Primitive)) {
		_, _, _, h := v.GetInnerRect()
		page := max(h-2, 1)
		switch ev.Key() {
		case tcell.KeyUp:
			v.offset--
		case tcell.KeyDown:
			v.offset++
		case tcell.KeyPgUp:
			v.offset -= page
		case tcell.KeyPgDn:
			v.offset += page
		case tcell.KeyHome:
			v.offset = 0
		case tcell.KeyEnd:
			v.offset = len(v.lines)
		}
		v.offset = max(min(v.offset, len(v.lines)-1), 0)
	})
}

// queryText names what a query selects.
func queryText(q connector.JourneyQuery) string {
	if q.SequenceID != 0 {
		return "row " + strconv.FormatInt(q.SequenceID, 10)
	}
	return "mutation " + q.MutationID
}

// openJourney opens the journey view on q and traces in the background;
// the result is drawn through env.post (QueueUpdateDraw).
func (a *App) openJourney(q connector.JourneyQuery, title string) {
	v := newJourneyView(&a.env.theme, title, a.journeyHints(), q)
	a.openOverlay(v)
	a.traceJourney(v)
}

// traceJourney runs the trace for v off the UI goroutine.
func (a *App) traceJourney(v *JourneyView) {
	v.loading = true
	q := v.query
	a.env.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), journeyTimeout)
		defer cancel()
		j, err := a.env.src.Journey(ctx, q)
		a.env.post(func() { v.show(j, err) })
	})
}

// journeyHints renders the journey view's hint line from journeyKeys and
// the current key table.
func (a *App) journeyHints() string {
	s := "↑↓ scroll"
	for _, k := range journeyKeys {
		if key := a.keys.Key(k.Action); key != "" {
			s += "  " + model.KeyLabel(key) + " " + k.Description
		}
	}
	return s
}

// journeyKey handles a key in the journey view: the JSON of the row
// (closing it returns to the journey), copy, trace again, close.
func (a *App) journeyKey(v *JourneyView, ev *tcell.EventKey) bool {
	act, ok := a.lookup(ev)
	if !ok {
		return false
	}
	switch act {
	case model.ActInspect:
		title, doc, ok := a.Focused().Inspect()
		if !ok {
			return true
		}
		a.openOverlay(NewInspector(&a.env.theme, title, doc, func() { a.openOverlay(v) }))
	case model.ActCopy:
		if v.journey != nil {
			a.copyText(v.JSON())
		}
	case model.ActRefresh:
		a.traceJourney(v)
	case model.ActBack, model.ActQuit:
		a.closeOverlay()
	default:
		return false
	}
	return true
}
