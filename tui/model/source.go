// Package model holds the dashboard's data seams and the state behind its
// views: the Source the dashboard reads from, the key table, bounded buffers
// for the live tail and the connector log, rate history, JSON formatting and
// the Narration through which `livesync-dev demo` captions the dashboard.
// It never imports tview; views read it and redraw through QueueUpdateDraw.
package model

import (
	"context"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// Source is everything the dashboard reads and writes. The production
// implementation (tui/source) wraps a monitor.Monitor, a monitor.Tail and
// the connector's event bus; tests feed fixed data through the same methods.
type Source interface {
	// Snapshot takes one snapshot of the outbox.
	Snapshot(ctx context.Context) (*monitor.Snapshot, error)
	// OutboxList returns one keyset page of rows.
	OutboxList(ctx context.Context, p monitor.OutboxListParams) ([]monitor.Row, error)
	// ActionSQL returns the SQL a "retry" or "delete" would run.
	ActionSQL(action string, p monitor.OutboxActionParams) (string, error)
	// Retry clears the locks of the rows so a live node claims them again.
	Retry(ctx context.Context, p monitor.OutboxActionParams) (monitor.ActionResult, error)
	// Delete deletes the rows.
	Delete(ctx context.Context, p monitor.OutboxActionParams) (monitor.ActionResult, error)
	// Insert writes rows as an application would and returns their ids.
	Insert(ctx context.Context, p monitor.OutboxInsertParams) ([]int64, error)
	// Journey traces one row through the outbox, the live nodes' journals
	// and the local endpoint (monitor.Monitor.RowJourney, as `outbox trace`).
	Journey(ctx context.Context, q connector.JourneyQuery) (*monitor.Journey, error)
	// Occupancy returns a channel's occupancy metrics.
	Occupancy(ctx context.Context, channel string) (monitor.Occupancy, error)
	// TailMessages delivers messages received on the tailed channels; nil
	// when there is no tail.
	TailMessages() <-chan monitor.TailMessage
	// Events delivers the connector's event stream; nil when no connector of
	// ours runs.
	Events() <-chan connector.Event
	// FaultList returns the fault rules in force on the local endpoint
	// (the endpoint client `livesync-dev fault list` uses).
	FaultList(ctx context.Context) ([]fault.Active, error)
	// FaultAdd puts a rule in force, as `livesync-dev fault add`.
	FaultAdd(ctx context.Context, r fault.Rule) (fault.Active, error)
	// FaultClear removes the rule id, or every rule when id is "", and
	// returns how many were removed, as `livesync-dev fault clear`.
	FaultClear(ctx context.Context, id string) (int, error)
	// NodeSignal kills, pauses or resumes a connector node, as
	// `livesync-dev connector kill|pause|resume`; a node running in this
	// process is killed in-process (no graceful release).
	NodeSignal(ctx context.Context, p NodeSignalParams) (NodeSignalResult, error)
	// OutboxHold holds a row's lock from an open transaction until the
	// duration passes or ctx ends, as `livesync-dev outbox hold`.
	OutboxHold(ctx context.Context, p monitor.OutboxHoldParams) error
}

// NodeAction is what NodeSignal does to a node.
type NodeAction string

// The node actions, named as the CLI names them.
const (
	NodeKill   NodeAction = "kill"
	NodePause  NodeAction = "pause"
	NodeResume NodeAction = "resume"
)

// NodeSignalParams say which node and what to do.
type NodeSignalParams struct {
	// Node is the node id.
	Node string
	// Action is kill, pause or resume.
	Action NodeAction
}

// NodeSignalResult says what happened.
type NodeSignalResult struct {
	// InProcess is true when the node ran in this process and was stopped
	// there (a kill without release).
	InProcess bool
	// PID is the signalled process (0 in-process).
	PID int
	// Siblings are other nodes of the same process the signal reached too.
	Siblings []string
}
