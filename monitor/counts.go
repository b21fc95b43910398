package monitor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// counts fills the backlog counts and MAX(sequence_id): exact with the
// recommended indexes (or on a small table) up to the count cap, otherwise
// planner estimates bounded by what the ids allow.
func (m *Monitor) counts(ctx context.Context, s *Snapshot) error {
	o := m.opts.Names.Outbox()
	if err := m.db.QueryRow(ctx, fmt.Sprintf("SELECT max(sequence_id) FROM %s", o)).Scan(&s.Outbox.MaxSequenceID); err != nil {
		return err
	}
	s.Outbox.CountCap = int64(m.opts.exactCountCap())
	if !s.Indexes.exactCounts() {
		est, err := m.estimate(ctx)
		if err != nil {
			return err
		}
		if m.opts.ExactRowLimit < 0 || est.total > float64(m.opts.exactRowLimit()) {
			s.Outbox.Estimated = true
			s.Outbox.Pending = int64(est.total * (1 - est.processedFreq))
			s.Outbox.RejectedPending = int64(est.total * est.rejectedFreq)
			s.Outbox.Locked = int64(est.total * (1 - est.lockNullFrac))
			return m.boundEstimates(ctx, s)
		}
	}
	var err error
	for _, c := range []struct {
		where   string
		dst     *int64
		atLeast *bool
	}{
		{"NOT processed", &s.Outbox.Pending, &s.Outbox.PendingAtLeast},
		{"NOT processed AND lock_expiry IS NOT NULL AND lock_expiry > " + nowSQL, &s.Outbox.Locked, &s.Outbox.LockedAtLeast},
		{"rejected AND NOT processed", &s.Outbox.RejectedPending, &s.Outbox.RejectedPendingAtLeast},
	} {
		if *c.dst, *c.atLeast, err = m.countCapped(ctx, o, c.where); err != nil {
			return err
		}
	}
	return nil
}

// countCapped counts the rows matching where, reading at most
// ExactCountCap of them through the partial indexes; past the cap it
// returns the cap and true (there are at least that many), so a snapshot
// of a huge backlog stays fast.
func (m *Monitor) countCapped(ctx context.Context, outbox, where string) (int64, bool, error) {
	limit := int64(m.opts.exactCountCap())
	var n int64
	q := fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s LIMIT %d) capped", outbox, where, limit+1)
	if err := m.db.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, false, err
	}
	if n > limit {
		return limit, true, nil
	}
	return n, false, nil
}

// boundEstimates clamps planner estimates to what is possible: pending
// rows lie between the oldest pending id and MAX(sequence_id), locked and
// rejected rows are among the pending ones, none is negative.
func (m *Monitor) boundEstimates(ctx context.Context, s *Snapshot) error {
	o := &s.Outbox
	var oldest *int64
	q := fmt.Sprintf("SELECT sequence_id FROM %s WHERE NOT processed ORDER BY sequence_id LIMIT 1", m.opts.Names.Outbox())
	if err := m.db.QueryRow(ctx, q).Scan(&oldest); err != nil && err != pgx.ErrNoRows {
		return err
	}
	upper := int64(0)
	if oldest != nil && o.MaxSequenceID != nil {
		upper = *o.MaxSequenceID - *oldest + 1
	}
	clamp := func(v *int64, hi int64) { *v = max(0, min(*v, hi)) }
	clamp(&o.Pending, upper)
	if oldest != nil && o.Pending == 0 {
		o.Pending = 1 // a pending row exists
	}
	clamp(&o.Locked, o.Pending)
	clamp(&o.RejectedPending, o.Pending)
	return nil
}

// estimates are planner statistics for the outbox.
type estimates struct {
	total, processedFreq, rejectedFreq, lockNullFrac float64
}

// estimate reads pg_class.reltuples (or n_live_tup before the first
// ANALYZE) and pg_stats for processed, rejected and lock_expiry.
func (m *Monitor) estimate(ctx context.Context) (estimates, error) {
	e := estimates{lockNullFrac: 1}
	o := m.opts.Names.Outbox()
	var live int64
	if err := m.db.QueryRow(ctx, `SELECT c.reltuples::float8, coalesce(s.n_live_tup, 0)
FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass($1)`, o).Scan(&e.total, &live); err != nil {
		return e, err
	}
	if e.total < 0 {
		e.total = float64(live)
	}
	n := fillNames(m.opts.Names)
	rows, err := m.db.Query(ctx, `SELECT attname, null_frac::float8, coalesce(most_common_vals::text, ''), coalesce(most_common_freqs, '{}')::float8[]
FROM pg_stats WHERE schemaname = $1 AND tablename = $2 AND attname IN ('processed', 'rejected', 'lock_expiry')`, n.OutboxSchema, n.OutboxTable)
	if err != nil {
		return e, err
	}
	defer rows.Close()
	for rows.Next() {
		var att, vals string
		var nullFrac float64
		var freqs []float64
		if err := rows.Scan(&att, &nullFrac, &vals, &freqs); err != nil {
			return e, err
		}
		switch att {
		case "processed":
			e.processedFreq = boolFreq(vals, freqs)
		case "rejected":
			e.rejectedFreq = boolFreq(vals, freqs)
		case "lock_expiry":
			e.lockNullFrac = nullFrac
		}
	}
	return e, rows.Err()
}

// boolFreq returns the frequency of true in a boolean column's
// most_common_vals ("{f,t}") and most_common_freqs.
func boolFreq(vals string, freqs []float64) float64 {
	for i, v := range strings.Split(strings.Trim(vals, "{}"), ",") {
		if v == "t" && i < len(freqs) {
			return freqs[i]
		}
	}
	return 0
}

// ages fills the oldest pending and oldest claimable ages.
func (m *Monitor) ages(ctx context.Context, s *Snapshot) error {
	head, err := m.headRow(ctx, "")
	if err != nil || head == nil {
		return err
	}
	s.Outbox.OldestPendingSequenceID = &head.id
	age, src := m.rowAge(*head, s.At)
	s.Outbox.OldestPendingAgeSeconds, s.Outbox.AgeSource = &age, src
	claimable, err := m.headRow(ctx, fmt.Sprintf(" AND (lock_expiry IS NULL OR lock_expiry <= %s)", nowSQL))
	if err != nil || claimable == nil {
		return err
	}
	cage, csrc := m.rowAge(*claimable, s.At)
	s.Outbox.OldestClaimableAgeSeconds, s.Outbox.ClaimableAgeSource = &cage, csrc
	m.pruneFirstSeen(head.id)
	return nil
}

// agedRow is what rowAge needs to date a row.
type agedRow struct {
	id           int64
	neverUpdated bool
	commitAge    *float64
	lockExpiry   *time.Time
}

// ageColumns select an agedRow; the commit timestamp is read only when
// track_commit_timestamp is on (otherwise the function raises an error).
const ageColumns = `sequence_id, (locked_by IS NULL AND lock_expiry IS NULL) AS never_updated,
  CASE WHEN current_setting('track_commit_timestamp') = 'on'
       THEN extract(epoch FROM now() - pg_xact_commit_timestamp(xmin))::float8 END AS commit_age,
  lock_expiry`

// headRow returns the lowest pending row matching extra (a SQL fragment
// starting with AND), or nil.
func (m *Monitor) headRow(ctx context.Context, extra string) (*agedRow, error) {
	var r agedRow
	q := fmt.Sprintf("SELECT %s FROM %s WHERE NOT processed%s ORDER BY sequence_id LIMIT 1", ageColumns, m.opts.Names.Outbox(), extra)
	err := m.db.QueryRow(ctx, q).Scan(&r.id, &r.neverUpdated, &r.commitAge, &r.lockExpiry)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	return &r, err
}

// rowAge dates a row with the largest of its lower bounds: the commit
// timestamp when it was never updated (an UPDATE changes xmin), when the
// monitor first saw it, and its lock (lock_expiry − LockTTL). Taking the
// largest also covers a row whose lock was cleared by a retry (its xmin is
// then the retry's).
func (m *Monitor) rowAge(r agedRow, at time.Time) (float64, string) {
	m.mu.Lock()
	seen, ok := m.firstSeen[r.id]
	if !ok {
		seen = at
		m.firstSeen[r.id] = at
	}
	m.mu.Unlock()
	age, src := at.Sub(seen).Seconds(), "first-seen"
	if r.neverUpdated && r.commitAge != nil && *r.commitAge >= age {
		age, src = *r.commitAge, "commit-timestamp"
	}
	if r.lockExpiry != nil {
		if l := at.Sub(utc(*r.lockExpiry).Add(-m.opts.LockTTL)).Seconds(); l > age {
			age, src = l, "lock"
		}
	}
	return max(age, 0), src
}

// pruneFirstSeen forgets rows below the oldest pending one (they are gone).
func (m *Monitor) pruneFirstSeen(oldest int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.firstSeen {
		if id < oldest {
			delete(m.firstSeen, id)
		}
	}
}

// tombstone finds the processed row among the newest rows (a bounded PK
// scan) and counts the processed rows there.
func (m *Monitor) tombstone(ctx context.Context, s *Snapshot) error {
	q := fmt.Sprintf(`SELECT sequence_id FROM (SELECT sequence_id, processed FROM %s ORDER BY sequence_id DESC LIMIT %d) t
WHERE processed ORDER BY sequence_id DESC`, m.opts.Names.Outbox(), newestSample)
	rows, err := m.db.Query(ctx, q)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		s.Outbox.TombstoneSequenceID = &ids[0]
	}
	s.processedIDs = ids
	return nil
}

// newestSample bounds the scans of the newest rows.
const newestSample = 1000

// tableHealth reads dead tuples and vacuum times.
func (m *Monitor) tableHealth(ctx context.Context, s *Snapshot) error {
	err := m.db.QueryRow(ctx, `SELECT n_dead_tup, n_live_tup, last_autovacuum, last_vacuum
FROM pg_stat_user_tables WHERE relid = to_regclass($1)`, m.opts.Names.Outbox()).
		Scan(&s.Table.DeadTuples, &s.Table.LiveTuples, &s.Table.LastAutovacuum, &s.Table.LastVacuum)
	if err == pgx.ErrNoRows {
		return nil
	}
	for _, t := range []**time.Time{&s.Table.LastAutovacuum, &s.Table.LastVacuum} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return err
}
