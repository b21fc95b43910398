// Package fake is a fixed-data model.Source for the dashboard's tests: a
// seam for views, not a database or Ably mock. Rows are computed from their
// sequence id, so a 10M-row outbox costs nothing until a page is asked for.
package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// Source serves Rows synthetic outbox rows and records the writes asked for.
type Source struct {
	// Rows is the number of rows (sequence ids 1..Rows).
	Rows int64
	// Snap is returned by Snapshot.
	Snap *monitor.Snapshot
	// Tail and Ev are returned by TailMessages and Events.
	Tail chan monitor.TailMessage
	Ev   chan connector.Event

	// Journeys are the journeys Journey answers, by row id; a row not
	// here is nowhere (monitor.NotFoundMessage).
	Journeys map[int64]*monitor.Journey
	// Faults answers the fault methods; nil: they fail as without a local
	// endpoint.
	Faults FaultAPI
	// NodeErr is what NodeSignal returns.
	NodeErr error

	mu sync.Mutex
	// Traced records every Journey query.
	Traced []connector.JourneyQuery
	// Lists records every OutboxList call.
	Lists []monitor.OutboxListParams
	// Retries, Deletes and Inserts record the writes.
	Retries, Deletes []monitor.OutboxActionParams
	Inserts          []monitor.OutboxInsertParams
	// Signals and Holds record NodeSignal and OutboxHold calls.
	Signals []model.NodeSignalParams
	Holds   []monitor.OutboxHoldParams
}

// Row returns the synthetic row seq: channel orders:<seq%3>, every fifth
// rejected, data with a number too large for a float64.
func Row(seq int64) monitor.Row {
	node := "node-a"
	r := monitor.Row{SequenceID: seq, MutationID: fmt.Sprintf("m-%04d", seq), Channel: fmt.Sprintf("orders:%d", seq%3),
		Name: "update", Rejected: seq%5 == 0,
		Data:    json.RawMessage(fmt.Sprintf(`{"z":true,"id":%d,"big":12345678901234567890123}`, seq)),
		Headers: json.RawMessage(`{"b":"2","a":"1"}`)}
	if seq%4 == 1 {
		r.LockedBy = &node
		t := time.Date(2026, 1, 2, 3, 4, 35, 0, time.UTC)
		r.LockExpiry = &t
	}
	return r
}

// Snapshot implements model.Source.
func (s *Source) Snapshot(context.Context) (*monitor.Snapshot, error) { return s.Snap, nil }

// OutboxList implements model.Source over the synthetic rows.
func (s *Source) OutboxList(_ context.Context, p monitor.OutboxListParams) ([]monitor.Row, error) {
	s.mu.Lock()
	s.Lists = append(s.Lists, p)
	s.mu.Unlock()
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []monitor.Row
	for seq := p.After + 1; seq <= s.Rows && len(out) < limit; seq++ {
		r := Row(seq)
		if p.Filter == monitor.RejectedRows && !r.Rejected {
			continue
		}
		if p.Text != "" && !strings.Contains(strings.ToLower(r.Channel+" "+r.MutationID+" "+string(r.Data)), strings.ToLower(p.Text)) {
			continue
		}
		out = append(out, r)
		if p.Text != "" && seq-p.After > 100000 {
			break // bounded scan for tests
		}
	}
	return out, nil
}

// ActionSQL implements model.Source.
func (s *Source) ActionSQL(action string, p monitor.OutboxActionParams) (string, error) {
	verb := "UPDATE public.outbox SET locked_by = NULL, lock_expiry = NULL"
	if action == "delete" {
		verb = "DELETE FROM public.outbox"
	}
	if p.ByFilter {
		return fmt.Sprintf("%s WHERE filter = '%s'", verb, p.Filter), nil
	}
	ids := make([]string, len(p.IDs))
	for i, id := range p.IDs {
		ids[i] = fmt.Sprint(id)
	}
	return fmt.Sprintf("%s WHERE sequence_id = ANY('{%s}')", verb, strings.Join(ids, ",")), nil
}

// Retry implements model.Source.
func (s *Source) Retry(_ context.Context, p monitor.OutboxActionParams) (monitor.ActionResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Retries = append(s.Retries, p)
	return monitor.ActionResult{Action: "retry", SequenceIDs: p.IDs}, nil
}

// Delete implements model.Source.
func (s *Source) Delete(_ context.Context, p monitor.OutboxActionParams) (monitor.ActionResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Deletes = append(s.Deletes, p)
	return monitor.ActionResult{Action: "delete", SequenceIDs: p.IDs}, nil
}

// Insert implements model.Source.
func (s *Source) Insert(_ context.Context, p monitor.OutboxInsertParams) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Inserts = append(s.Inserts, p)
	ids := make([]int64, max(p.Count, 1))
	for i := range ids {
		s.Rows++
		ids[i] = s.Rows
	}
	return ids, nil
}

// Journey implements model.Source from Journeys.
func (s *Source) Journey(_ context.Context, q connector.JourneyQuery) (*monitor.Journey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Traced = append(s.Traced, q)
	if j, ok := s.Journeys[q.SequenceID]; ok {
		return j, nil
	}
	return &monitor.Journey{Query: q, Message: monitor.NotFoundMessage, Status: "unknown"}, nil
}

// Occupancy implements model.Source.
func (s *Source) Occupancy(_ context.Context, ch string) (monitor.Occupancy, error) {
	return monitor.Occupancy{Channel: ch, IsActive: true, Connections: 2, Subscribers: 1, Publishers: 1}, nil
}

// TailMessages implements model.Source.
func (s *Source) TailMessages() <-chan monitor.TailMessage { return s.Tail }

// Events implements model.Source.
func (s *Source) Events() <-chan connector.Event { return s.Ev }

// Calls returns copies of the recorded writes.
func (s *Source) Calls() (retries, deletes []monitor.OutboxActionParams, inserts []monitor.OutboxInsertParams) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]monitor.OutboxActionParams(nil), s.Retries...), append([]monitor.OutboxActionParams(nil), s.Deletes...),
		append([]monitor.OutboxInsertParams(nil), s.Inserts...)
}

// At is the fixed database time of Snapshot1.
var At = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Snapshot1 returns a snapshot with two nodes (one dead), a backlog, rates,
// two stuck rows and a warning.
func Snapshot1() *monitor.Snapshot {
	f := func(v float64) *float64 { return &v }
	i := func(v int64) *int64 { return &v }
	a := "node-a"
	return &monitor.Snapshot{
		At: At,
		Outbox: monitor.OutboxStats{Pending: 12345, Locked: 40, RejectedPending: 7,
			OldestPendingAgeSeconds: f(42.5), OldestClaimableAgeSeconds: f(3.25), MaxSequenceID: i(12345)},
		Channels: []monitor.ChannelBacklog{{Channel: "orders:1", Pending: 9000, HeadSequenceID: 1, HeadLockedBy: &a},
			{Channel: "orders:2", Pending: 3345, HeadSequenceID: 2}},
		Nodes: []monitor.Node{{ID: "node-a", Expiry: At.Add(12 * time.Second), ExpiresInSeconds: 12, Alive: true, RowsLocked: i(40), Own: true},
			{ID: "node-b", Expiry: At.Add(-5 * time.Second), ExpiresInSeconds: -5, RowsLocked: i(0)}},
		Stuck: []monitor.Stuck{
			{SequenceID: 2, Channel: "orders:2", Reason: monitor.OwnerDead, LockedBy: &[]string{"node-b"}[0],
				Detail: "Row 2 is locked by node-b, whose lease expired 5s ago.", Action: "Wait for the lock to lapse, or retry the row."},
			{SequenceID: 5, Channel: "orders:2", Reason: monitor.Blocked, Detail: "Row 5 waits behind row 2 on orders:2.", Action: "Fix row 2."},
		},
		Rates:    monitor.Rates{WindowSeconds: 60, InsertPerSecond: f(120), PublishPerSecond: f(118.5)},
		Trigger:  monitor.TriggerState{Present: true, Correct: true},
		Warnings: []monitor.Warning{{Code: "headers-not-flat", Detail: "Row 3 has nested headers."}},
	}
}
