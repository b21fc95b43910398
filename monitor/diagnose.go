package monitor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablyrules"
	"github.com/livesync-dev/livesync-dev/connector"
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
	// LockNoExpiry: locked_by is set and lock_expiry is NULL (written by
	// hand or by an application): no node ever claims the row.
	LockNoExpiry Reason = "lock-without-expiry"
	// RowLocked: an open transaction of another session holds the row
	// (UPDATE or SELECT ... FOR UPDATE), so the connector skips its channel.
	RowLocked Reason = "row-locked"
	// NoLiveNode: no node holds a live lease, so nothing publishes.
	NoLiveNode Reason = "no-live-node"
	// Blocked: the connector stopped the channel at this row after a
	// permanent Ably error (40009 too large, 40010 bad channel, 40160
	// capability); it resumes when the row is deleted, changed or retried.
	Blocked Reason = "blocked"
	// PublishFailing: publishing this row fails with a retryable error (a
	// rate limit, the endpoint down); the connector retries with backoff.
	PublishFailing Reason = "publish-failing"
	// Behind: an earlier row on the same channel is stuck; per-channel
	// order keeps this one waiting.
	Behind Reason = "behind"
	// NoTrigger: the notify trigger is missing or wrong, so new rows wait
	// for the connector's safety poll instead of NOTIFY.
	NoTrigger Reason = "no-trigger"
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
	// FixSQL is SQL that fixes the cause, when there is one.
	FixSQL string `json:"fixSql,omitempty"`
	// LockedBy is the lock owner, or nil.
	LockedBy *string `json:"lockedBy"`
	// LockLapsesInSeconds is the time until the row's lock lapses
	// (owner-dead), or nil.
	LockLapsesInSeconds *float64 `json:"lockLapsesInSeconds,omitempty"`
	// Node is the connector node reporting the failure (blocked,
	// publish-failing).
	Node string `json:"node,omitempty"`
	// ErrorCode is the Ably error code for blocked and publish-failing (0
	// otherwise).
	ErrorCode int `json:"errorCode,omitempty"`
	// ErrorMessage is the Ably error message for blocked and publish-failing.
	ErrorMessage string `json:"errorMessage,omitempty"`
	// Attempts counts failed publish attempts of the row.
	Attempts int `json:"attempts,omitempty"`
	// NextRetry is when the connector tries the row again, or nil.
	NextRetry *time.Time `json:"nextRetry,omitempty"`
	// Holder is the session holding the row (row-locked), or nil.
	Holder *LockHolder `json:"holder,omitempty"`
}

// LockHolder is a database session whose open transaction holds a row.
type LockHolder struct {
	// PID is the backend pid (pg_stat_activity.pid).
	PID int `json:"pid"`
	// ApplicationName is the session's application_name.
	ApplicationName string `json:"applicationName"`
	// State is pg_stat_activity.state ("idle in transaction", "active").
	State string `json:"state"`
	// TransactionAgeSeconds is how long its transaction has been open; nil
	// when the monitor's role may not see it (grant pg_read_all_stats).
	TransactionAgeSeconds *float64 `json:"transactionAgeSeconds"`
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
// scan found, then the rows waiting behind a stuck head.
func (m *Monitor) diagnose(ctx context.Context, s *Snapshot) error {
	live := s.liveNodes()
	liveIDs := make([]string, 0, len(live))
	for id := range live {
		liveIDs = append(liveIDs, id)
	}
	var views map[string]channelView
	if m.opts.Connector != nil {
		states, err := m.opts.Connector.NodeStates(ctx)
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("publish errors unknown: our connector did not answer (%v)", err))
		}
		if states != nil {
			s.Connectors = states
		}
		views = channelViews(states)
		var notes []string
		s.StuckConnectors, notes = diagnoseConnectors(states)
		s.Notes = append(s.Notes, notes...)
	} else {
		s.Notes = append(s.Notes, "publish errors cannot be known: no connector of ours reports on this database (read-only view of the tables)")
	}
	if len(live) == 0 && s.Outbox.Pending > 0 {
		s.Notes = append(s.Notes, "no node holds a live lease: nothing is publishing")
	}
	if !s.Trigger.Present || !s.Trigger.Correct {
		s.Notes = append(s.Notes, fmt.Sprintf("the notify trigger is missing or wrong: new rows wait for the connector's safety poll (every %s) instead of being published at once; `livesync-dev doctor` has the SQL", m.opts.SafetyPoll))
	}
	locked, err := m.lockedRows(ctx, s, liveIDs)
	if err != nil {
		return err
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
			lapse := l.seconds
			st.LockLapsesInSeconds = &lapse
			st.Detail = fmt.Sprintf("locked by node %s, %s; its lock lapses in %.0fs and until then no other node may publish it", owner, gone, l.seconds)
			st.Action = fmt.Sprintf("wait %.0fs for the lock to lapse (a live node then claims it), or free it now with `livesync-dev outbox retry %d` (safe: the owner is dead)", l.seconds, l.id)
		case len(live) == 0:
			st.Reason = NoLiveNode
			st.Detail = fmt.Sprintf("the lock by %s lapsed %.0fs ago and no node holds a live lease to reclaim it", owner, -l.seconds)
			st.Action = "start a connector (`livesync-dev connector run` or `livesync-dev up`); it claims lapsed locks"
		default:
			st.Reason = LockExpired
			st.Detail = fmt.Sprintf("the lock by %s lapsed %.0fs ago and no live node has reclaimed it yet", owner, -l.seconds)
			st.Action = fmt.Sprintf("wait: a live node reclaims it at its next safety poll (connector.safetyPoll, every %s) or at once on the next insert (NOTIFY); if it stays, check that the node polls this table", m.opts.SafetyPoll)
		}
		add(st)
		if _, ok := failing[l.channel]; !ok {
			failing[l.channel] = st
		}
	}
	holders, err := m.rowHolders(ctx, s.heads)
	if err != nil {
		return err
	}
	m.diagnoseHeads(s, live, views, holders, add, failing)
	if err := m.diagnoseBehind(ctx, s, failing, add); err != nil {
		return err
	}
	sort.SliceStable(s.Stuck, func(i, j int) bool { return s.Stuck[i].SequenceID < s.Stuck[j].SequenceID })
	if len(s.Stuck) > m.opts.MaxStuck {
		s.StuckTruncated += len(s.Stuck) - m.opts.MaxStuck
		s.Stuck = s.Stuck[:m.opts.MaxStuck]
	}
	return nil
}

// lockedRows returns pending rows locked by a node without a live lease or
// with a lapsed lock.
func (m *Monitor) lockedRows(ctx context.Context, s *Snapshot, liveIDs []string) ([]lockedRow, error) {
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
		return nil, err
	}
	locked, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lockedRow, error) {
		var l lockedRow
		err := r.Scan(&l.id, &l.channel, &l.lockedBy, &l.lockExpiry, &l.liveLock, &l.seconds)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	if len(locked) > m.opts.MaxStuck {
		locked = locked[:m.opts.MaxStuck]
		s.StuckTruncated++
	}
	return locked, nil
}

// rowHolderMinAge is how long a transaction must have held a head row
// before it is blamed (a connector's own claim holds rows for milliseconds).
const rowHolderMinAge = time.Second

// rowHolders finds, for the channel head rows, the sessions whose open
// transaction holds the row: the row's xmax is the id of a transaction in
// progress (an UPDATE, DELETE or SELECT ... FOR UPDATE), whose own
// transactionid lock in pg_locks names its backend.
func (m *Monitor) rowHolders(ctx context.Context, heads []headInfo) (map[int64]LockHolder, error) {
	if len(heads) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(heads))
	for i, h := range heads {
		ids[i] = h.row.id
	}
	q := fmt.Sprintf(`SELECT o.sequence_id, a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
  extract(epoch FROM now() - a.xact_start)::float8
FROM %s o
JOIN pg_locks l ON l.locktype = 'transactionid' AND l.transactionid = o.xmax AND l.granted AND l.mode = 'ExclusiveLock'
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE o.sequence_id = ANY($1) AND o.xmax <> '0'::xid AND a.pid <> pg_backend_pid()`, m.opts.Names.Outbox())
	rows, err := m.db.Query(ctx, q, ids)
	if err != nil {
		if isPermissionDenied(err) {
			return nil, nil
		}
		return nil, err
	}
	out := map[int64]LockHolder{}
	err = forEachRow(rows, func(r pgx.Rows) error {
		var id int64
		var h LockHolder
		if err := r.Scan(&id, &h.PID, &h.ApplicationName, &h.State, &h.TransactionAgeSeconds); err != nil {
			return err
		}
		if h.TransactionAgeSeconds == nil || *h.TransactionAgeSeconds >= rowHolderMinAge.Seconds() {
			out[id] = h
		}
		return nil
	})
	return out, err
}

// diagnoseHeads gives channel head rows that no lock explains a reason:
// blocked or publish-failing from the connector, a lock without expiry, a
// row held by a transaction, no-live-node, no-trigger or waiting.
func (m *Monitor) diagnoseHeads(s *Snapshot, live map[string]bool, views map[string]channelView, holders map[int64]LockHolder, add func(Stuck), failing map[string]Stuck) {
	triggerOK := s.Trigger.Present && s.Trigger.Correct
	for _, h := range s.heads {
		if _, done := failing[h.channel]; done {
			continue
		}
		st := Stuck{SequenceID: h.row.id, Channel: h.channel, LockedBy: h.lockedBy}
		if v, ok := views[h.channel]; ok && connectorStuck(&st, v, s.At) {
			add(st)
			failing[h.channel] = st
			continue
		}
		if h.lockedBy != nil && h.row.lockExpiry == nil {
			o := m.opts.Names.Outbox()
			st.Reason = LockNoExpiry
			st.Detail = fmt.Sprintf("locked_by is %q but lock_expiry is NULL: a connector claims only rows without a lock or with a lapsed one, so no node ever takes this row and channel %s waits behind it", *h.lockedBy, h.channel)
			st.FixSQL = fmt.Sprintf("UPDATE %s SET locked_by = NULL, lock_expiry = NULL WHERE sequence_id = %d;", o, h.row.id)
			st.Action = fmt.Sprintf("clear the lock: `livesync-dev outbox retry %d`, or run %s — and find what writes locked_by without lock_expiry", h.row.id, st.FixSQL)
			add(st)
			failing[h.channel] = st
			continue
		}
		if hd, ok := holders[h.row.id]; ok {
			hd := hd
			st.Reason, st.Holder = RowLocked, &hd
			age := "for a time this role may not see (grant pg_read_all_stats)"
			if hd.TransactionAgeSeconds != nil {
				age = fmt.Sprintf("for %.0fs", *hd.TransactionAgeSeconds)
			}
			state := hd.State
			if state == "" {
				state = "state hidden"
			}
			st.Detail = fmt.Sprintf("an open transaction holds this row: backend pid %d (application_name %q, %s) has had its transaction open %s; the connector skips locked rows, so channel %s waits", hd.PID, hd.ApplicationName, state, age, h.channel)
			st.FixSQL = fmt.Sprintf("SELECT pg_terminate_backend(%d);", hd.PID)
			st.Action = fmt.Sprintf("end that transaction (COMMIT or ROLLBACK in %q), or terminate the session: %s", hd.ApplicationName, st.FixSQL)
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
		case !triggerOK && age >= min(m.opts.StuckAfter, time.Second).Seconds():
			st.Reason = NoTrigger
			st.Detail = fmt.Sprintf("pending for %.0fs: the notify trigger is missing or wrong, so the connector learns of new rows only from its safety poll (every %s)", age, m.opts.SafetyPoll)
			st.FixSQL = s.Trigger.Fix
			st.Action = "the row goes out at the next safety poll; recreate the trigger so rows go out at once (`livesync-dev doctor` shows the SQL)"
		case age >= m.opts.StuckAfter.Seconds():
			st.Reason = Waiting
			if m.opts.Connector == nil {
				st.Detail = fmt.Sprintf("pending for %.0fs with a live node; why cannot be known here: no connector of ours reports on this database, so a publish failure would not show", age)
				st.Action = "look at the running connector's logs for Ably errors (40009 too large, 40160 capability, 42913 rate); check it polls this table"
			} else {
				st.Detail = fmt.Sprintf("pending for %.0fs with a live node and no error reported by our connector; the reason is unknown", age)
				st.Action = "check that a live node owns this channel and wakes on NOTIFY (`livesync-dev doctor` checks the trigger)"
			}
		default:
			continue
		}
		add(st)
		failing[h.channel] = st
	}
}

// connectorStuck fills st from the connector's view of the channel and
// reports whether the connector explains why the head is not moving.
func connectorStuck(st *Stuck, v channelView, at time.Time) bool {
	c := v.state
	st.Node = c.Owner
	if c.LastError != nil {
		st.ErrorCode, st.ErrorMessage = c.LastError.Code, c.LastError.Message
	}
	st.Attempts = c.Attempts
	switch {
	case c.Blocked:
		if c.BlockedRow != 0 {
			st.SequenceID = c.BlockedRow
		}
		st.Reason = Blocked
		st.Detail = fmt.Sprintf("node %s stopped channel %s at this row: Ably refused it with %s, an error retrying cannot fix; later rows of the channel wait", c.Owner, st.Channel, errorText(c.LastError))
		st.Action = blockedFix(st.ErrorCode, st.Channel, st.SequenceID)
		injectedFix(st)
		return true
	case c.LastError != nil && c.Head != 0:
		st.SequenceID = c.Head
		st.Reason = PublishFailing
		st.NextRetry = c.NextRetry
		retry := "the connector retries it with backoff"
		if c.NextRetry != nil {
			retry = fmt.Sprintf("next retry in %.1fs (%s)", max(c.NextRetry.Sub(at).Seconds(), 0), c.NextRetry.UTC().Format(time.RFC3339))
		}
		st.Detail = fmt.Sprintf("node %s failed to publish it %d time(s), last with %s; %s", c.Owner, c.Attempts, errorText(c.LastError), retry)
		st.Action = retryFix(st.ErrorCode)
		injectedFix(st)
		if v.ably.State != "" && v.ably.State != "connected" {
			st.Detail += fmt.Sprintf("; its Ably connection is %s (%s)", v.ably.State, errorText(v.ably.Reason))
			st.Action = retryFix(80003)
		}
		return true
	case c.Head != 0 && v.ably.State != "" && v.ably.State != "connected":
		st.SequenceID = c.Head
		st.Reason = PublishFailing
		st.NextRetry = c.NextRetry
		if v.ably.Reason != nil {
			st.ErrorCode, st.ErrorMessage = v.ably.Reason.Code, v.ably.Reason.Message
		}
		st.Detail = fmt.Sprintf("node %s cannot publish: its Ably connection is %s (%s); the row is retried when it reconnects", c.Owner, v.ably.State, errorText(v.ably.Reason))
		st.Action = "start the Ably endpoint again (`livesync-dev sandbox up`, or check the network to Ably); the connector reconnects and publishes on its own"
		return true
	}
	return false
}

// errorText renders an Ably error for a detail sentence.
func errorText(e *connector.ErrorInfo) string {
	if e == nil {
		return "no error reported"
	}
	if e.Code == 0 {
		return e.Message
	}
	return fmt.Sprintf("Ably error %d (%s)", e.Code, e.Message)
}

// diagnoseBehind lists the rows behind each stuck head on its channel.
func (m *Monitor) diagnoseBehind(ctx context.Context, s *Snapshot, failing map[string]Stuck, add func(Stuck)) error {
	q := fmt.Sprintf(`SELECT sequence_id, locked_by FROM %s WHERE NOT processed AND channel = $1 AND sequence_id > $2
ORDER BY sequence_id LIMIT %d`, m.opts.Names.Outbox(), blockedPerChannel)
	for ch, head := range failing {
		if head.Reason == Waiting || head.Reason == NoLiveNode || head.Reason == NoTrigger {
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
			add(Stuck{SequenceID: id, Channel: ch, Reason: Behind, LockedBy: by,
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

// blockedFix says what unblocks a channel stopped by a permanent error:
// the connector re-checks the blocking row on every heartbeat and resumes
// when it was deleted, changed or released by `outbox retry`.
func blockedFix(code int, channel string, id int64) string {
	switch code {
	case 40009:
		return fmt.Sprintf("the message is over Ably's size limit (64 KiB): delete it (`livesync-dev outbox delete %d`), or shrink its data/headers and run `livesync-dev outbox retry %d` (the connector also notices the changed row at its next heartbeat); the channel resumes", id, id)
	case 40010:
		return fmt.Sprintf("the channel name is invalid (%s): delete row %d (`livesync-dev outbox delete %d`) and write it again with a valid channel", ablyrules.ChannelRules, id, id)
	case 40032:
		return fmt.Sprintf("Ably refuses the message's headers (%s): delete row %d and write it with flat headers", ablyrules.HeaderRules, id)
	case 40160:
		return fmt.Sprintf("the API key's capability lacks \"publish\" on channel %q: grant it (e.g. {%q:[\"publish\"]}) and run `livesync-dev outbox retry %d`, or delete the row (`livesync-dev outbox delete %d`)", channel, channelPattern(channel), id, id)
	}
	return fmt.Sprintf("fix or delete row %d (`livesync-dev outbox delete %d`), then `livesync-dev outbox retry %d` resumes the channel", id, id, id)
}

// channelPattern is a capability resource covering channel's namespace
// ("secret:1" → "secret:*").
func channelPattern(channel string) string {
	if i := strings.Index(channel, ":"); i > 0 {
		return channel[:i+1] + "*"
	}
	return channel
}

// retryFix says what to do about a retryable publish error.
func retryFix(code int) string {
	switch code {
	case 42910, 42911, 42913:
		return "Ably rate limit (50 msg/s per channel and per connection): the connector retries with backoff and the row goes out; publish slower or spread rows over channels to avoid it"
	case 80000, 80002, 80003, 80008, 80017:
		return "the Ably connection is down: start the endpoint again (`livesync-dev sandbox up`) or check the network; the connector retries with backoff"
	}
	return "the connector retries with backoff; if it keeps failing, see the connector's log for this error"
}
