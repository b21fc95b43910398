package view_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// stuckJourney is row 2 of fake.Snapshot1 (locked by the dead node-b):
// claimed and sent by node-b, never acknowledged.
func stuckJourney() *monitor.Journey {
	ms := func(v float64) *float64 { return &v }
	at := func(ms int) time.Time { return fake.At.Add(time.Duration(ms) * time.Millisecond) }
	d := fake.Snapshot1().Stuck[0]
	return &monitor.Journey{Query: connector.JourneyQuery{SequenceID: 2}, Found: true, SequenceID: 2, MutationID: "m-0002",
		Channel: "orders:2", Name: "update", Status: "locked", Diagnosis: &d, Nodes: []string{"node-b"},
		Stages: []monitor.JourneyStage{
			{Stage: "commit", Time: at(0), SinceCommitMs: ms(0)},
			{Stage: "notify", Time: at(1), Node: "node-b", SinceCommitMs: ms(1), DeltaMs: 1},
			{Stage: "claim", Time: at(3), Node: "node-b", Detail: "claim round 4", SinceCommitMs: ms(3), DeltaMs: 2},
			{Stage: "send", Time: at(4), Node: "node-b", Detail: "attempt 1", SinceCommitMs: ms(4), DeltaMs: 1},
			{Stage: "no-ack", Time: at(1504), Node: "node-b", Detail: "attempt 1", SinceCommitMs: ms(1504), DeltaMs: 1500, Slowest: true},
		}}
}

// lineWith returns the screen row holding s, or -1.
func lineWith(lines []string, s string) int {
	for i, l := range lines {
		if strings.Contains(l, s) {
			return i
		}
	}
	return -1
}

// cellIndex returns the screen column of s in line (one rune a cell).
func cellIndex(line, s string) int {
	return utf8.RuneCountInString(line[:strings.Index(line, s)])
}

// TestEnterOnOutboxRowOpensJourney: Enter on a stuck row in the Outbox
// view traces it: the diagnosis above the stages, one line per stage, the
// slowest highlighted; Enter shows the row's JSON and Esc returns to the
// journey; c copies the journey; Ctrl-R traces again; Esc closes.
func TestEnterOnOutboxRowOpensJourney(t *testing.T) {
	b := setup(t, 5, nil)
	b.src.Journeys = map[int64]*monitor.Journey{2: stuckJourney()}
	b.typ("2")
	b.key(tcell.KeyDown) // row 2
	b.key(tcell.KeyEnter)
	v, ok := b.app.Overlay().(*view.JourneyView)
	if !ok {
		t.Fatalf("overlay = %T, want the journey", b.app.Overlay())
	}
	if q := v.Query(); q.SequenceID != 2 {
		t.Fatalf("traced %+v, want row 2", q)
	}
	lines := b.render(t, 140, 40)
	text := strings.Join(lines, "\n")
	contains(t, text, "Journey of row 2", "row 2 on orders:2 (name update, mutation m-0002): in the outbox, locked by a node",
		"STUCK (owner-dead): Row 2 is locked by node-b", "fix: Wait for the lock to lapse", "claim round 4", "<- slowest",
		"<enter> JSON of the row", "<c> copy journey JSON", "<esc> close")
	diag, cols, slow := lineWith(lines, "STUCK"), lineWith(lines, "STAGE"), lineWith(lines, "<- slowest")
	if diag < 0 || cols < 0 || diag > cols {
		t.Errorf("diagnosis (line %d) is not above the stages (line %d)", diag, cols)
	}
	if !strings.Contains(lines[slow], "no-ack") || !strings.Contains(lines[slow], "1500ms") {
		t.Errorf("slowest line %q, want the no-ack after 1500ms", lines[slow])
	}
	// The slowest stage is drawn in the warning colour and bold.
	s := b.draw(t, 140, 40)
	col := cellIndex(lines[slow], "no-ack")
	_, _, style, _ := s.GetContent(col, slow)
	if fg, _, attr := style.Decompose(); fg != b.app.Theme().Warn || attr&tcell.AttrBold == 0 {
		t.Errorf("slowest stage drawn fg %v attr %v, want %v bold", fg, attr, b.app.Theme().Warn)
	}
	_, _, style, _ = s.GetContent(cellIndex(lines[slow-1], "send"), slow-1)
	if _, _, attr := style.Decompose(); attr&tcell.AttrBold != 0 {
		t.Error("an ordinary stage is bold")
	}

	b.key(tcell.KeyEnter)
	ins, ok := b.app.Overlay().(*view.Inspector)
	if !ok || !strings.Contains(ins.JSON(), `"sequenceId": 2`) {
		t.Fatalf("enter in the journey: overlay %T, want the row's JSON", b.app.Overlay())
	}
	b.key(tcell.KeyEscape)
	if _, ok := b.app.Overlay().(*view.JourneyView); !ok {
		t.Fatalf("esc from the JSON: overlay %T, want the journey again", b.app.Overlay())
	}
	b.typ("c")
	if !strings.Contains(string(b.copied), `"stage": "no-ack"`) || !strings.Contains(string(b.copied), `"diagnosis"`) {
		t.Errorf("c copied %s, want the journey", b.copied)
	}
	b.ctrl('r')
	if n := len(b.src.Traced); n != 2 {
		t.Errorf("ctrl-r: %d traces, want 2", n)
	}
	b.key(tcell.KeyEscape)
	if b.app.Overlay() != nil || b.app.Screen() != view.ScreenOutbox {
		t.Fatalf("esc: overlay %T on %s, want the Outbox view", b.app.Overlay(), b.app.Screen())
	}
}

// TestJourneyOfARowThatIsNowhere says so plainly.
func TestJourneyOfARowThatIsNowhere(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("2")
	b.key(tcell.KeyEnter)
	contains(t, strings.Join(b.render(t, 200, 40), "\n"), "row 1: "+monitor.NotFoundMessage)
	b.typ("c")
	if !strings.Contains(string(b.copied), `"found": false`) {
		t.Errorf("copied %s", b.copied)
	}
}

// TestEnterOnMessageOpensItsRowsJourney: a message's id is its row's
// sequence_id, so Enter in the Channels panel traces that row; a message
// whose id is not a row id is inspected as JSON instead.
func TestEnterOnMessageOpensItsRowsJourney(t *testing.T) {
	b := setup(t, 5, nil)
	b.src.Journeys = map[int64]*monitor.Journey{2: stuckJourney()}
	b.app.ApplyTail([]monitor.TailMessage{{Channel: "orders:2", ID: "2", Name: "update", Data: []byte(`{}`)},
		{Channel: "chat", ID: "abc:0", Name: "hello", Data: []byte(`{}`)}})
	b.typ("6")
	b.key(tcell.KeyTab) // the Channels panel, following the newest (abc:0)
	b.key(tcell.KeyEnter)
	if ins, ok := b.app.Overlay().(*view.Inspector); !ok || !strings.Contains(ins.JSON(), `"id": "abc:0"`) {
		t.Fatalf("enter on a foreign message: overlay %T, want its JSON", b.app.Overlay())
	}
	b.key(tcell.KeyEscape)
	b.key(tcell.KeyUp)
	b.key(tcell.KeyEnter)
	v, ok := b.app.Overlay().(*view.JourneyView)
	if !ok || v.Query().SequenceID != 2 {
		t.Fatalf("enter on message 2: overlay %T, want row 2's journey", b.app.Overlay())
	}
	contains(t, b.screenText(t), "Journey of message 2 on orders:2", "STUCK (owner-dead)")
}

// TestOverviewShowsStageLatencies: the Backlog line carries the nodes'
// per-stage p50/p99 (the slowest node per stage), p50 only when narrow.
func TestOverviewShowsStageLatencies(t *testing.T) {
	b := setup(t, 5, nil)
	st := func(s connector.Stage, p50, p99 float64) connector.StageLatency {
		return connector.StageLatency{Stage: s, Count: 10, P50: p50, P99: p99, Max: p99}
	}
	b.src.Snap.Connectors = []connector.NodeState{
		{Node: "node-a", Stages: []connector.StageLatency{st(connector.StageCommitNotify, 0.31, 1.2), st(connector.StageNotifyClaim, 2, 9),
			st(connector.StageClaimPublish, 0.4, 1), st(connector.StagePublishAck, 3, 12), st(connector.StageAckComplete, 5, 20)}},
		{Node: "node-c", Stages: []connector.StageLatency{st(connector.StagePublishAck, 4.5, 150)}},
	}
	b.app.Refresh()
	lines := b.render(t, 200, 50)
	if !strings.HasPrefix(lines[2], "Backlog 12,345") ||
		!strings.Contains(lines[2], "Stages p50/p99 notify 0.31/1.20ms claim 2.00/9.00ms publish 0.40/1.00ms ack 4.50/150ms done 5.00/20.0ms") {
		t.Errorf("wide overview line: %q", lines[2])
	}
	lines = b.render(t, 140, 40)
	if !strings.Contains(lines[2], "Stages p50 notify 0.31ms claim 2.00ms publish 0.40ms ack 4.50ms done 5.00ms") {
		t.Errorf("narrower overview line: %q", lines[2])
	}
	if l := b.render(t, 80, 24)[2]; strings.Contains(l, "Stages") {
		t.Errorf("80 columns: %q, want no stages", l)
	}
}
