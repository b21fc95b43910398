package view

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// occupancyEvery bounds how often one channel's occupancy is asked for.
const occupancyEvery = 5 * time.Second

// ChannelList lists the known channels with their counts and occupancy;
// Enter restricts the tail beside it to the chosen channel ("all" first).
type ChannelList struct {
	*panel
	env   *env
	names []string
	tail  *TailPanel
	asked map[string]time.Time
}

// newChannelList builds the channel list driving tail.
func newChannelList(e *env, tail *TailPanel) *ChannelList {
	c := &ChannelList{env: e, tail: tail, asked: map[string]time.Time{}}
	c.panel = newPanel("Channel list", c, &e.theme, nil)
	return c
}

// header implements rowSource.
func (c *ChannelList) header() []string {
	return []string{"CHANNEL", "PUB", "RECV", "PENDING", "OCCUPANCY"}
}

// count implements rowSource.
func (c *ChannelList) count() int { return 1 + len(c.names) }

// cell implements rowSource.
func (c *ChannelList) cell(r, col int) (string, tcell.Color) {
	t := &c.env.theme
	if r == 0 {
		if col == 0 {
			return "(all)", t.Fg
		}
		return "", t.Fg
	}
	st := c.env.state.Channels[c.names[r-1]]
	if st == nil {
		return "", t.Fg
	}
	switch col {
	case 0:
		return st.Name, t.Fg
	case 1:
		return fmtCount(st.Published), t.Fg
	case 2:
		return fmtCount(st.Received), t.Fg
	case 3:
		return fmtCount(st.Pending), t.Fg
	}
	if st.Occupancy == nil {
		return "?", t.Dim
	}
	o := st.Occupancy
	return "subs " + strconv.Itoa(o.Subscribers) + " pubs " + strconv.Itoa(o.Publishers) + " conns " + strconv.Itoa(o.Connections), t.Fg
}

// SetFilter filters channel names.
func (c *ChannelList) SetFilter(q string) {
	c.panel.filter = q
	c.Update()
}

// Update re-reads the channels and asks for the occupancy of the first
// twenty shown.
func (c *ChannelList) Update() {
	m := model.NewMatcher(c.panel.filter)
	c.names = c.names[:0]
	for _, n := range c.env.state.ChannelNames() {
		if m.Match(n) {
			c.names = append(c.names, n)
		}
	}
	c.clampSelection()
	for i, n := range c.names {
		if i >= 20 {
			break
		}
		c.fetchOccupancy(n)
	}
}

// fetchOccupancy asks the channel-status API in the background, at most
// every occupancyEvery per channel.
func (c *ChannelList) fetchOccupancy(name string) {
	now := c.env.now()
	if t, ok := c.asked[name]; ok && now.Sub(t) < occupancyEvery {
		return
	}
	c.asked[name] = now
	c.env.async(func() {
		o, err := c.env.src.Occupancy(context.Background(), name)
		if err != nil {
			return
		}
		c.env.post(func() {
			if st := c.env.state.Channels[name]; st != nil {
				st.Occupancy = &o
			}
		})
	})
}

// Choose restricts the tail to the selected channel.
func (c *ChannelList) Choose() {
	r := c.row()
	switch {
	case r == 0:
		c.tail.SetChannel("")
	case r > 0 && r-1 < len(c.names):
		c.tail.SetChannel(c.names[r-1])
	}
}

// Inspect returns the selected channel's stats as JSON.
func (c *ChannelList) Inspect() (string, []byte, bool) {
	r := c.row()
	if r < 1 || r-1 >= len(c.names) {
		return "", nil, false
	}
	b, _ := json.Marshal(c.env.state.Channels[c.names[r-1]])
	return "Channel " + c.names[r-1], b, true
}

// LogPanel is the connector log: one line per event, newest last, with
// the same follow/pause behaviour as the tail.
type LogPanel struct {
	*panel
	env *env
	f   *follower[string]
}

// newLogPanel builds the Log view.
func newLogPanel(e *env) *LogPanel {
	l := &LogPanel{env: e}
	l.panel = newPanel("Log", l, &e.theme, nil)
	l.f = newFollower(l.panel, e.state.Log, func(s string) bool { return model.NewMatcher(l.panel.filter).Match(s) })
	l.extra = l.f.state
	return l
}

// header implements rowSource.
func (l *LogPanel) header() []string { return []string{"EVENT"} }

// count implements rowSource.
func (l *LogPanel) count() int { return l.f.view.Len() }

// cell implements rowSource.
func (l *LogPanel) cell(r, _ int) (string, tcell.Color) {
	s, _, _ := l.f.view.At(r)
	return s, l.env.theme.Fg
}

// SetFilter sets the `/` filter.
func (l *LogPanel) SetFilter(q string) {
	l.panel.filter = q
	l.f.refilter()
}

// Update takes in new lines.
func (l *LogPanel) Update() { l.f.sync() }

// Follow resumes or pauses following.
func (l *LogPanel) Follow(on bool) { l.f.setFollow(on) }

// InputHandler pauses when the user scrolls up.
func (l *LogPanel) InputHandler() func(*tcell.EventKey, func(tview.Primitive)) {
	return l.f.wrapInput(l.panel.InputHandler())
}

// Inspect returns the selected line.
func (l *LogPanel) Inspect() (string, []byte, bool) {
	s, _, ok := l.f.view.At(l.row())
	if !ok {
		return "", nil, false
	}
	b, _ := json.Marshal(map[string]string{"line": s})
	return "Log line", b, true
}
