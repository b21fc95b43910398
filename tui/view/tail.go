package view

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// TailPanel is the Channels panel: every message our connector published
// (from its event stream) and every message the tail received, newest last,
// so a row can be seen going in and coming out. It follows the newest entry
// until scrolled up, then shows PAUSED.
type TailPanel struct {
	*panel
	env     *env
	f       *follower[model.TailEntry]
	channel string // "" = all channels
}

// newTailPanel builds the Channels panel.
func newTailPanel(e *env) *TailPanel {
	t := &TailPanel{env: e}
	t.panel = newPanel("Channels", t, &e.theme, nil)
	t.f = newFollower(t.panel, e.state.Tail, t.match)
	t.extra = func() string {
		s := t.f.state()
		if t.channel != "" {
			s = "channel " + t.channel + " " + s
		}
		return strings.TrimSpace(s)
	}
	return t
}

// match applies the channel choice and the `/` filter.
func (t *TailPanel) match(e model.TailEntry) bool {
	if t.channel != "" && e.Channel != t.channel {
		return false
	}
	return model.NewMatcher(t.panel.filter).Match(e.Channel, e.ID, e.Name, dataText(e.Data), e.Node)
}

// header implements rowSource.
func (t *TailPanel) header() []string {
	return []string{"TIME", "DIR", "CHANNEL", "ID", "NAME", "DATA"}
}

// count implements rowSource.
func (t *TailPanel) count() int { return t.f.view.Len() }

// cell implements rowSource.
func (t *TailPanel) cell(r, c int) (string, tcell.Color) {
	th := &t.env.theme
	e, _, ok := t.f.view.At(r)
	if !ok {
		return "", th.Dim
	}
	switch c {
	case 0:
		return e.Time.UTC().Format("15:04:05.000"), th.Dim
	case 1:
		if e.Dir == model.Published {
			return "→ pub", th.Fg
		}
		return "← recv", th.Fg
	case 2:
		return e.Channel, th.Fg
	case 3:
		return e.ID, th.Fg
	case 4:
		return e.Name, th.Fg
	}
	if e.Dir == model.Published {
		return "by " + e.Node + " acked in " + fmtAge(e.Latency.Seconds()), th.Dim
	}
	if e.DecodeError != "" {
		return "decode error: " + e.DecodeError, th.Err
	}
	return oneLine(dataText(e.Data)), th.Fg
}

// dataText renders decoded tail data on one line.
func dataText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.RawMessage:
		return model.CompactJSON(x)
	case string:
		return x
	case []byte:
		return "<" + itoa(len(x)) + " bytes>"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// SetFilter sets the `/` filter.
func (t *TailPanel) SetFilter(q string) {
	t.panel.filter = q
	t.f.refilter()
}

// SetChannel restricts the tail to one channel ("" = all).
func (t *TailPanel) SetChannel(ch string) {
	t.channel = ch
	t.f.refilter()
}

// Update takes in new entries.
func (t *TailPanel) Update() { t.f.sync() }

// Follow resumes or pauses following the newest entry.
func (t *TailPanel) Follow(on bool) { t.f.setFollow(on) }

// Following reports whether the panel follows the newest entry.
func (t *TailPanel) Following() bool { return t.f.follow }

// InputHandler pauses when the user scrolls up.
func (t *TailPanel) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return t.f.wrapInput(t.panel.InputHandler())
}

// JourneyQuery implements tracer: a message's id is its row's sequence_id
// (what the connector publishes), so Enter opens that row's journey; a
// message whose id is not a row id (published by someone else) is
// inspected instead.
func (t *TailPanel) JourneyQuery() (connector.JourneyQuery, string, bool) {
	r := t.row()
	e, _, ok := t.f.view.At(r)
	if r < 0 || !ok {
		return connector.JourneyQuery{}, "", false
	}
	id, err := strconv.ParseInt(e.ID, 10, 64)
	if err != nil || id < 1 {
		return connector.JourneyQuery{}, "", false
	}
	return connector.JourneyQuery{SequenceID: id}, "message " + e.ID + " on " + e.Channel, true
}

// Inspect returns the selected message as JSON.
func (t *TailPanel) Inspect() (string, []byte, bool) {
	r := t.row()
	e, _, ok := t.f.view.At(r)
	if r < 0 || !ok {
		return "", nil, false
	}
	m := map[string]any{"channel": e.Channel, "id": e.ID, "name": e.Name,
		"direction": map[bool]string{true: "published", false: "received"}[e.Dir == model.Published],
		"time":      e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	if e.Dir == model.Published {
		m["node"], m["latencyMs"] = e.Node, float64(e.Latency.Microseconds())/1000
	} else {
		m["data"], m["headers"] = dataValue(e.Data), e.Headers
		if e.DecodeError != "" {
			m["decodeError"] = e.DecodeError
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", nil, false
	}
	return "Message " + e.Channel + " #" + e.ID, b, true
}

// dataValue keeps JSON payloads exact inside the inspector's document.
func dataValue(v any) any {
	if b, ok := v.([]byte); ok {
		return map[string]any{"binaryBytes": len(b)}
	}
	return v
}
