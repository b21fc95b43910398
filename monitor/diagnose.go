package monitor

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablyrules"
)

// Reason is why a pending row is not moving.
type Reason string

// The fixed set of stuck reasons.
const (
	// OwnerDead: locked by a node that is gone or expired; the lock has not
	// lapsed yet, so no other node may take the row.
	OwnerDead Reason = "owner-dead"
	// LockExpired: the lock lapsed and no live node has reclaimed the row.
	LockExpired Reason = "lock-expired"
	// NoLiveNode: no node holds a live lease, so nothing publishes.
	NoLiveNode Reason = "no-live-node"
	// Blocked: an earlier row on the same channel is failing; per-channel
	// order keeps this one waiting.
	Blocked Reason = "blocked"
	// PublishFailing: the connector reports an Ably error for this row.
	PublishFailing Reason = "publish-failing"
	// Waiting: pending longer than the threshold; the reason is unknown.
	Waiting Reason = "waiting"
)

// Stuck is one pending row that is not moving.
type Stuck struct {
	// SequenceID is the row.
	SequenceID int64 `json:"sequenceId"`
	// Channel is its channel.
	Channel string `json:"channel"`
	// Reason is one of the fixed reasons.
	Reason Reason `json:"reason"`
	// Detail is one sentence saying what was found.
	Detail string `json:"detail"`
	// Action says what to do.
	Action string `json:"action"`
	// LockedBy is the lock owner, or nil.
	LockedBy *string `json:"lockedBy"`
	// ErrorCode is the Ably error code for publish-failing (0 otherwise).
	ErrorCode int `json:"errorCode,omitempty"`
	// ErrorMessage is the Ably error message for publish-failing.
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// blockedPerChannel bounds the rows listed behind one failing head.
const blockedPerChannel = 5

// lockedRow is a pending row with a lock the diagnosis looks at.
type lockedRow struct {
	id         int64
	channel    string
	lockedBy   string
	lockExpiry time.Time
	liveLock   bool
	seconds    float64 // seconds until the lock lapses (negative: since)
}

// diagnose fills s.Stuck: locks held by dead nodes and lapsed locks (all
// channels, via the lock_expiry index), then each channel head the channel
// scan found, then the rows blocked behind a failing head.
func (m *Monitor) diagnose(ctx context.Context, s *Snapshot) error {
	live := s.liveNodes()
	liveIDs := make([]string, 0, len(live))
	for id := range live {
		liveIDs = append(liveIDs, id)
	}
	var errs map[string]ChannelError
	if m.opts.Connector != nil {
		var err error
		if errs, err = m.opts.Connector.ChannelErrors(ctx); err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("publish errors unknown: our connector did not answer (%v)", err))
		}
	} else {
		s.Notes = append(s.Notes, "publish errors cannot be known: no connector of ours reports on this database (read-only view of the tables)")
	}
	if len(live) == 0 && s.Outbox.Pending > 0 {
		s.Notes = append(s.Notes, "no node holds a live lease: nothing is publishing")
	}
	from := m.opts.Names.Outbox()
	if !s.Indexes.LockExpiry {
		// Without the lock_expiry index only the oldest pending rows are
		// checked (the locks that matter most); say so.
		from = fmt.Sprintf("(SELECT * FROM %s WHERE NOT processed ORDER BY sequence_id LIMIT %d) o", from, channelSample)
		s.Notes = append(s.Notes, fmt.Sprintf("index %s is missing: locks are checked only on the oldest %d pending rows", m.opts.Names.IndexName("lock_expiry_idx"), channelSample))
	}
	q := fmt.Sprintf(`SELECT sequence_id, channel, locked_by, lock_expiry, lock_expiry > %[2]s,
  extract(epoch FROM lock_expiry - %[2]s)::float8
FROM %[1]s WHERE NOT processed AND locked_by IS NOT NULL AND lock_expiry IS NOT NULL
  AND (lock_expiry <= %[2]s OR NOT (locked_by = ANY($1)))
ORDER BY sequence_id LIMIT %[3]d`, from, nowSQL, m.opts.MaxStuck+1)
	rows, err := m.db.Query(ctx, q, liveIDs)
	if err != nil {
		return err
	}
	locked, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lockedRow, error) {
		var l lockedRow
		err := r.Scan(&l.id, &l.channel, &l.lockedBy, &l.lockExpiry, &l.liveLock, &l.seconds)
		return l, err
	})
	if err != nil {
		return err
	}
	if len(locked) > m.opts.MaxStuck {
		locked = locked[:m.opts.MaxStuck]
		s.StuckTruncated++
	}
	nodeExpiry := map[string]Node{}
	for _, n := range s.Nodes {
		nodeExpiry[n.ID] = n
	}
	seen := map[int64]bool{}
	failing := map[string]Stuck{} // channel → stuck head
	add := func(st Stuck) {
		if seen[st.SequenceID] {
			return
		}
		seen[st.SequenceID] = true
		s.Stuck = append(s.Stuck, st)
	}
	for _, l := range locked {
		owner := l.lockedBy
		st := Stuck{SequenceID: l.id, Channel: l.channel, LockedBy: &owner}
		switch {
		case l.liveLock:
			st.Reason = OwnerDead
			gone := "which is not in the nodes table"
			if n, ok := nodeExpiry[owner]; ok {
				gone = fmt.Sprintf("whose lease expired %.0fs ago", -n.ExpiresInSeconds)
			}
			st.Detail = fmt.Sprintf("locked by node %s, %s; its lock lapses in %.0fs and until then no other node may publish it", owner, gone, l.seconds)
			st.Action = fmt.Sprintf("wait for the lock to lapse, or free it now with `livesync-dev outbox retry %d` (safe: the owner is dead)", l.id)
		case len(live) == 0:
			st.Reason = NoLiveNode
			st.Detail = fmt.Sprintf("the lock by %s lapsed %.0fs ago and no node holds a live lease to reclaim it", owner, -l.seconds)
			st.Action = "start a connector (`livesync-dev connector run` or `livesync-dev up`); it claims lapsed locks"
		default:
			st.Reason = LockExpired
			st.Detail = fmt.Sprintf("the lock by %s lapsed %.0fs ago and no live node has reclaimed it", owner, -l.seconds)
			st.Action = fmt.Sprintf("check that the live node(s) poll for lapsed locks (a connector that only wakes on NOTIFY never retries); `livesync-dev outbox retry %d` clears the lock", l.id)
		}
		add(st)
		if _, ok := failing[l.channel]; !ok {
			failing[l.channel] = st
		}
	}
	m.diagnoseHeads(s, live, errs, add, failing)
	if err := m.diagnoseBlocked(ctx, s, failing, add); err != nil {
		return err
	}
	sort.SliceStable(s.Stuck, func(i, j int) bool { return s.Stuck[i].SequenceID < s.Stuck[j].SequenceID })
	if len(s.Stuck) > m.opts.MaxStuck {
		s.StuckTruncated += len(s.Stuck) - m.opts.MaxStuck
		s.Stuck = s.Stuck[:m.opts.MaxStuck]
	}
	return nil
}

// diagnoseHeads gives channel head rows that no lock explains a reason:
// publish-failing from the connector, no-live-node, or waiting.
func (m *Monitor) diagnoseHeads(s *Snapshot, live map[string]bool, errs map[string]ChannelError, add func(Stuck), failing map[string]Stuck) {
	for _, h := range s.heads {
		if _, done := failing[h.channel]; done {
			continue
		}
		st := Stuck{SequenceID: h.row.id, Channel: h.channel, LockedBy: h.lockedBy}
		if ce, ok := errs[h.channel]; ok {
			if ce.SequenceID != 0 {
				st.SequenceID = ce.SequenceID
			}
			st.Reason, st.ErrorCode, st.ErrorMessage = PublishFailing, ce.Code, ce.Message
			st.Detail = fmt.Sprintf("node %s failed to publish it %d time(s): Ably error %d: %s", ce.Owner, ce.Attempts, ce.Code, ce.Message)
			st.Action = publishFix(ce.Code, st.SequenceID)
			add(st)
			failing[h.channel] = st
			continue
		}
		if h.lockedBy != nil && h.row.lockExpiry != nil && live[*h.lockedBy] && h.row.lockExpiry.After(s.At) {
			continue // in flight on a live node
		}
		age, _ := m.rowAge(h.row, s.At)
		switch {
		case len(live) == 0:
			st.Reason = NoLiveNode
			st.Detail = fmt.Sprintf("no node holds a live lease, so nothing publishes channel %s (%d pending)", h.channel, h.pending)
			st.Action = "start a connector (`livesync-dev connector run` or `livesync-dev up`)"
		case age >= m.opts.StuckAfter.Seconds():
			st.Reason = Waiting
			if m.opts.Connector == nil {
				st.Detail = fmt.Sprintf("pending for %.0fs with a live node; why cannot be known here: no connector of ours reports on this database, so a publish failure would not show", age)
				st.Action = "look at the running connector's logs for Ably errors (40009 too large, 40160 capability, 42913 rate); check it polls this table"
			} else {
				st.Detail = fmt.Sprintf("pending for %.0fs with a live node and no error reported by our connector; the reason is unknown", age)
				st.Action = "check that the live node owns this channel and wakes on NOTIFY (`livesync-dev doctor` checks the trigger)"
			}
		default:
			continue
		}
		add(st)
		failing[h.channel] = st
	}
}

// diagnoseBlocked lists the rows behind each failing head on its channel.
func (m *Monitor) diagnoseBlocked(ctx context.Context, s *Snapshot, failing map[string]Stuck, add func(Stuck)) error {
	q := fmt.Sprintf(`SELECT sequence_id, locked_by FROM %s WHERE NOT processed AND channel = $1 AND sequence_id > $2
ORDER BY sequence_id LIMIT %d`, m.opts.Names.Outbox(), blockedPerChannel)
	for ch, head := range failing {
		if head.Reason == Waiting || head.Reason == NoLiveNode {
			continue // the rows behind wait for the same cause, not for a failure
		}
		rows, err := m.db.Query(ctx, q, ch, head.SequenceID)
		if err != nil {
			return err
		}
		err = forEachRow(rows, func(r pgx.Rows) error {
			var id int64
			var by *string
			if err := r.Scan(&id, &by); err != nil {
				return err
			}
			add(Stuck{SequenceID: id, Channel: ch, Reason: Blocked, LockedBy: by,
				Detail: fmt.Sprintf("row %d before it on channel %s is %s; per-channel order keeps this row waiting", head.SequenceID, ch, head.Reason),
				Action: fmt.Sprintf("fix row %d first: %s", head.SequenceID, head.Action)})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// forEachRow calls fn for each row and closes rows.
func forEachRow(rows pgx.Rows, fn func(pgx.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// publishFix says what to do about an Ably publish error code.
func publishFix(code int, id int64) string {
	switch code {
	case 40009:
		return fmt.Sprintf("the message is over Ably's size limit (64 KiB): shrink row %d's data/headers, or delete it with `livesync-dev outbox delete %d`", id, id)
	case 40010:
		return fmt.Sprintf("the channel name is invalid (%s): delete row %d and write it with a valid channel", ablyrules.ChannelRules, id)
	case 40032:
		return fmt.Sprintf("Ably refuses the message's headers (%s): delete row %d and write it with flat headers", ablyrules.HeaderRules, id)
	case 40160:
		return "the API key lacks the publish capability on this channel: fix the key's capabilities"
	case 42910, 42911, 42913:
		return "Ably rate limit (50 msg/s per channel/connection): publish slower or spread over channels; the connector retries"
	}
	return "see the connector's log for this error; it retries with backoff"
}
