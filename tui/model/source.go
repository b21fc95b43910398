// Package model holds the dashboard's data seams and the state behind its
// views: the Source the dashboard reads from, the key table, bounded buffers
// for the live tail and the connector log, rate history and JSON formatting.
// It never imports tview; views read it and redraw through QueueUpdateDraw.
package model

import (
	"context"

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
}
