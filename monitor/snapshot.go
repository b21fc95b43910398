package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/connector"
)

// Snapshot is one consistent-enough view of the outbox, taken with the
// database clock. Counts are exact unless Outbox.Estimated is true.
type Snapshot struct {
	// At is the database's clock (UTC) when the snapshot was taken.
	At time.Time `json:"at"`
	// Outbox holds the backlog counts and ages.
	Outbox OutboxStats `json:"outbox"`
	// Channels are the channels with the largest backlogs, largest first.
	Channels []ChannelBacklog `json:"channels"`
	// Nodes are the rows of the nodes table.
	Nodes []Node `json:"nodes"`
	// Stuck are the pending rows that are not moving, with a reason each.
	Stuck []Stuck `json:"stuck"`
	// StuckTruncated is how many more stuck rows exist beyond Stuck.
	StuckTruncated int `json:"stuckTruncated"`
	// Trigger says whether the notify trigger is present and correct.
	Trigger TriggerState `json:"trigger"`
	// Table is vacuum health from the statistics views.
	Table TableHealth `json:"table"`
	// Rates are insert and publish rates over the last minute.
	Rates Rates `json:"rates"`
	// Indexes says which recommended partial indexes exist.
	Indexes IndexState `json:"indexes"`
	// Warnings are cheap checks on head rows and newest rows.
	Warnings []Warning `json:"warnings"`
	// StuckConnectors are connectors of ours that are not moving (a Mongo
	// change stream stuck on 72008 history lost, 72006, 72007 or 72003),
	// with a reason and an action like Stuck rows.
	StuckConnectors []StuckConnector `json:"stuckConnectors"`
	// Connectors are the states our connector nodes reported (empty when
	// none of ours runs): the same connector.NodeState they serve.
	Connectors []connector.NodeState `json:"connectors"`
	// Notes say plainly what this snapshot cannot know (for example publish
	// errors when no connector of ours runs).
	Notes []string `json:"notes"`
	// Faults are the fault rules in force on the local endpoint (`livesync-dev
	// fault`), so nobody forgets one; empty for real Ably.
	Faults []fault.Active `json:"faults"`

	// processedIDs are the processed rows among the newest rows.
	processedIDs []int64
	// heads are the channel head rows the channel scan found.
	heads []headInfo
}

// OutboxStats are the backlog counts and ages.
type OutboxStats struct {
	// Pending counts rows not processed (rejected rows included: they are
	// application data and pending until published).
	Pending int64 `json:"pending"`
	// Locked counts pending rows with a live lock (lock_expiry in the future).
	Locked int64 `json:"locked"`
	// RejectedPending counts pending rows with rejected = true.
	RejectedPending int64 `json:"rejectedPending"`
	// OldestPendingSequenceID is the lowest pending row, or nil.
	OldestPendingSequenceID *int64 `json:"oldestPendingSequenceId"`
	// OldestPendingAgeSeconds is the age of the oldest pending row, or nil.
	OldestPendingAgeSeconds *float64 `json:"oldestPendingAgeSeconds"`
	// OldestClaimableAgeSeconds is the age of the oldest pending row without
	// a live lock, or nil when there is none.
	OldestClaimableAgeSeconds *float64 `json:"oldestClaimableAgeSeconds"`
	// AgeSource says how OldestPendingAgeSeconds was obtained:
	// commit-timestamp, first-seen, lock or "" when there is no pending row.
	AgeSource string `json:"ageSource"`
	// ClaimableAgeSource is AgeSource for OldestClaimableAgeSeconds.
	ClaimableAgeSource string `json:"claimableAgeSource"`
	// MaxSequenceID is MAX(sequence_id), or nil for an empty table.
	MaxSequenceID *int64 `json:"maxSequenceId"`
	// TombstoneSequenceID is the processed row with the largest id, or nil.
	TombstoneSequenceID *int64 `json:"tombstoneSequenceId"`
	// Estimated is true when the counts come from planner statistics
	// because a recommended index is missing (shown as ≈ or ~). Estimates
	// are bounded by what is possible (pending ≤ max id − oldest pending
	// id + 1).
	Estimated bool `json:"estimated"`
	// CountCap is the most rows an exact count reads; a count that reached
	// it is a lower bound, flagged below (shown as ≥).
	CountCap int64 `json:"countCap"`
	// PendingAtLeast, LockedAtLeast and RejectedPendingAtLeast are true
	// when that count stopped at CountCap: there are at least that many.
	PendingAtLeast         bool `json:"pendingAtLeast"`
	LockedAtLeast          bool `json:"lockedAtLeast"`
	RejectedPendingAtLeast bool `json:"rejectedPendingAtLeast"`
}

// ChannelBacklog is one channel's pending rows.
type ChannelBacklog struct {
	// Channel is the channel name.
	Channel string `json:"channel"`
	// Pending counts its pending rows (capped at CountCap when Capped).
	Pending int64 `json:"pending"`
	// Capped is true when Pending stopped counting at the cap.
	Capped bool `json:"capped"`
	// HeadSequenceID is its lowest pending row.
	HeadSequenceID int64 `json:"headSequenceId"`
	// HeadLockedBy is the head row's lock owner, or nil.
	HeadLockedBy *string `json:"headLockedBy"`
	// Estimated is true when the list comes from a bounded sample.
	Estimated bool `json:"estimated"`
}

// Node is one row of the nodes table.
type Node struct {
	// ID is the node id.
	ID string `json:"id"`
	// Expiry is the lease expiry (UTC).
	Expiry time.Time `json:"expiry"`
	// ExpiresInSeconds is expiry minus now; negative once expired.
	ExpiresInSeconds float64 `json:"expiresInSeconds"`
	// Alive is true while the lease has not expired.
	Alive bool `json:"alive"`
	// RowsLocked counts pending rows whose locked_by is this node; nil
	// when the lock_expiry index is missing (counting would scan the table).
	RowsLocked *int64 `json:"rowsLocked"`
	// Own is true for nodes run by this sandbox.
	Own bool `json:"own"`
}

// TableHealth is vacuum health of the outbox.
type TableHealth struct {
	// DeadTuples is n_dead_tup.
	DeadTuples int64 `json:"deadTuples"`
	// LiveTuples is n_live_tup.
	LiveTuples int64 `json:"liveTuples"`
	// LastAutovacuum is the last autovacuum, or nil.
	LastAutovacuum *time.Time `json:"lastAutovacuum"`
	// LastVacuum is the last manual vacuum, or nil.
	LastVacuum *time.Time `json:"lastVacuum"`
}

// Rates are per-second rates over up to the last minute of snapshots.
type Rates struct {
	// WindowSeconds is the span the rates cover; 0 until two snapshots.
	WindowSeconds float64 `json:"windowSeconds"`
	// InsertPerSecond is the growth of MAX(sequence_id) per second, or nil.
	InsertPerSecond *float64 `json:"insertPerSecond"`
	// PublishPerSecond is inserted minus backlog growth per second, or nil.
	PublishPerSecond *float64 `json:"publishPerSecond"`
}

// Snapshot takes one snapshot. It fails with ErrNoOutbox (wrapped) when the
// outbox table is missing; run the doctor for the fix.
func (m *Monitor) Snapshot(ctx context.Context) (*Snapshot, error) {
	s := &Snapshot{Channels: []ChannelBacklog{}, Nodes: []Node{}, Stuck: []Stuck{}, Warnings: []Warning{}, Notes: []string{}, Connectors: []connector.NodeState{}, StuckConnectors: []StuckConnector{}, Faults: []fault.Active{}}
	if err := m.db.QueryRow(ctx, "SELECT "+nowSQL).Scan(&s.At); err != nil {
		return nil, err
	}
	s.At = utc(s.At)
	idx, err := m.indexes(ctx)
	if err != nil {
		return nil, err
	}
	s.Indexes = idx
	steps := []func(context.Context, *Snapshot) error{
		m.counts, m.ages, m.tombstone, m.nodes, m.channels, m.trigger, m.tableHealth,
	}
	for _, step := range steps {
		if err := step(ctx, s); err != nil {
			if isUndefinedTable(err) {
				return nil, fmt.Errorf("%w: %v (run `livesync-dev doctor` for the SQL that creates it)", ErrNoOutbox, err)
			}
			return nil, err
		}
	}
	m.rates(s)
	if err := m.diagnose(ctx, s); err != nil {
		return nil, err
	}
	if err := m.warnings(ctx, s); err != nil {
		return nil, err
	}
	m.faults(ctx, s)
	return s, nil
}

// ChannelNames returns the channels with pending rows in the snapshot, for
// Tail.AddChannels.
func (s *Snapshot) ChannelNames() []string {
	out := make([]string, 0, len(s.heads))
	for _, h := range s.heads {
		out = append(out, h.channel)
	}
	return out
}
