package model

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// Direction says where a Channels entry comes from.
type Direction int

// The directions of a Channels entry.
const (
	// Published: our connector reported the message ACKed by Ably.
	Published Direction = iota
	// Received: the tail received the message from Ably.
	Received
)

// TailEntry is one line of the Channels panel.
type TailEntry struct {
	// Time is when the dashboard learnt of it.
	Time time.Time
	// Dir is Published or Received.
	Dir Direction
	// Channel, ID and Name identify the message (ID = outbox sequence_id).
	Channel, ID, Name string
	// Node is the publishing node (Published only).
	Node string
	// Latency is publish → ACK (Published only).
	Latency time.Duration
	// Data and Headers are the decoded payload (Received only).
	Data    any
	Headers map[string]any
	// DecodeError says why Data could not be decoded.
	DecodeError string
}

// ChannelStat is what the dashboard knows of one channel.
type ChannelStat struct {
	// Name is the channel.
	Name string
	// Published and Received count entries seen since start.
	Published, Received int64
	// Pending is its backlog in the last snapshot.
	Pending int64
	// Last is when the last entry arrived.
	Last time.Time
	// Occupancy is the last occupancy answer, if any.
	Occupancy *monitor.Occupancy
}

// NodeState is what the event stream says about one node.
type NodeState struct {
	// LastKind is the kind of its last event.
	LastKind connector.EventKind
	// LastTime is when that was.
	LastTime time.Time
	// Channels are the channels it published or claimed recently.
	Channels map[string]time.Time
	// Published counts its published events.
	Published int64
	// Failed counts its failed events.
	Failed int64
}

// State is everything the views show, fed by snapshots, connector events
// and tail messages. It is not safe for concurrent use: the dashboard
// mutates it on the UI goroutine only.
type State struct {
	// Snap is the last snapshot (nil before the first).
	Snap *monitor.Snapshot
	// SnapAt is the local time Snap arrived (countdowns run from it).
	SnapAt time.Time
	// SnapErr is the last snapshot error (nil after a success).
	SnapErr error
	// Insert and Publish are rate histories for the sparklines.
	Insert, Publish *Ring[float64]
	// Tail holds the Channels entries, newest last.
	Tail *Ring[TailEntry]
	// Log holds the connector log lines, newest last.
	Log *Ring[string]
	// Nodes is the event-stream state per node id.
	Nodes map[string]*NodeState
	// Channels is per-channel state by name.
	Channels map[string]*ChannelStat
	// Errors counts failed and blocked events.
	Errors int64
	// Blocked are the channels currently blocked, by name, with the reason.
	Blocked map[string]string
}

// NewState returns an empty state keeping tailBuffer Channels entries.
func NewState(tailBuffer int) *State {
	return &State{
		Insert: NewRing[float64](120), Publish: NewRing[float64](120),
		Tail: NewRing[TailEntry](tailBuffer), Log: NewRing[string](max(tailBuffer, 1000)),
		Nodes: map[string]*NodeState{}, Channels: map[string]*ChannelStat{},
		Blocked: map[string]string{},
	}
}

// ApplySnapshot records a snapshot taken at local time now.
func (s *State) ApplySnapshot(snap *monitor.Snapshot, now time.Time) {
	s.Snap, s.SnapAt, s.SnapErr = snap, now, nil
	if snap.Rates.InsertPerSecond != nil {
		s.Insert.Push(*snap.Rates.InsertPerSecond)
	}
	if snap.Rates.PublishPerSecond != nil {
		s.Publish.Push(*snap.Rates.PublishPerSecond)
	}
	for _, c := range s.Channels {
		c.Pending = 0
	}
	for _, cb := range snap.Channels {
		s.channel(cb.Channel).Pending = cb.Pending
	}
}

// channel returns the stat of name, creating it.
func (s *State) channel(name string) *ChannelStat {
	c := s.Channels[name]
	if c == nil {
		c = &ChannelStat{Name: name}
		s.Channels[name] = c
	}
	return c
}

// node returns the state of id, creating it.
func (s *State) node(id string) *NodeState {
	n := s.Nodes[id]
	if n == nil {
		n = &NodeState{Channels: map[string]time.Time{}}
		s.Nodes[id] = n
	}
	return n
}

// ApplyEvent records one connector event.
func (s *State) ApplyEvent(e connector.Event) {
	s.Log.Push(FormatEvent(e))
	if e.Node == "" {
		return
	}
	n := s.node(e.Node)
	n.LastKind, n.LastTime = e.Kind, e.Time
	if e.Channel != "" {
		n.Channels[e.Channel] = e.Time
	}
	switch e.Kind {
	case connector.EventPublished:
		n.Published++
		c := s.channel(e.Channel)
		c.Published++
		c.Last = e.Time
		s.Tail.Push(TailEntry{Time: e.Time, Dir: Published, Channel: e.Channel,
			ID: strconv.FormatInt(e.SequenceID, 10), Node: e.Node, Latency: e.Latency})
	case connector.EventFailed:
		n.Failed++
		s.Errors++
	case connector.EventBlocked:
		s.Errors++
		s.Blocked[e.Channel] = fmt.Sprintf("row %d, code %d: %s", e.SequenceID, e.Code, e.Message)
	case connector.EventUnblocked:
		delete(s.Blocked, e.Channel)
	case connector.EventLeaseLost:
		if e.Channel == "" {
			n.Channels = map[string]time.Time{}
		} else {
			delete(n.Channels, e.Channel)
		}
	}
}

// ApplyTail records one received message at local time now.
func (s *State) ApplyTail(m monitor.TailMessage, now time.Time) {
	c := s.channel(m.Channel)
	c.Received++
	c.Last = now
	s.Tail.Push(TailEntry{Time: now, Dir: Received, Channel: m.Channel, ID: m.ID, Name: m.Name,
		Data: m.Data, Headers: m.Headers, DecodeError: m.DecodeError})
}

// ChannelNames returns every known channel, sorted.
func (s *State) ChannelNames() []string {
	out := make([]string, 0, len(s.Channels))
	for n := range s.Channels {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NodeChannels returns the channels node id owns as far as the dashboard
// can tell: those whose head row it locks in the last snapshot and those
// it claimed or published within the last minute before now.
func (s *State) NodeChannels(id string, now time.Time) []string {
	set := map[string]bool{}
	if s.Snap != nil {
		for _, c := range s.Snap.Channels {
			if c.HeadLockedBy != nil && *c.HeadLockedBy == id {
				set[c.Channel] = true
			}
		}
	}
	if n := s.Nodes[id]; n != nil {
		for ch, t := range n.Channels {
			if now.Sub(t) <= time.Minute {
				set[ch] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for ch := range set {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// ExpiresIn returns a node's lease time left at local time now, counting
// down from the last snapshot.
func (s *State) ExpiresIn(n monitor.Node, now time.Time) time.Duration {
	left := time.Duration(n.ExpiresInSeconds * float64(time.Second))
	return left - now.Sub(s.SnapAt)
}

// FormatEvent renders an event as one log line.
func FormatEvent(e connector.Event) string {
	line := e.Time.UTC().Format("15:04:05.000") + " " + e.Node + " " + string(e.Kind)
	if e.Channel != "" {
		line += " channel=" + e.Channel
	}
	if e.SequenceID != 0 {
		line += " seq=" + strconv.FormatInt(e.SequenceID, 10)
	}
	if e.Rows != 0 {
		line += " rows=" + strconv.Itoa(e.Rows)
	}
	if e.Latency != 0 {
		line += " latency=" + e.Latency.Round(time.Microsecond).String()
	}
	if e.Attempt > 1 {
		line += " attempt=" + strconv.Itoa(e.Attempt)
	}
	if e.Code != 0 {
		line += " code=" + strconv.Itoa(e.Code)
	}
	if e.Message != "" {
		line += " " + e.Message
	}
	return line
}
