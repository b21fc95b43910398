package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/connector"
)

// OutboxClaimParams say what a node may claim.
type OutboxClaimParams struct {
	// Node is the claiming node's id.
	Node string
	// Limit is the most rows to claim (batchSize).
	Limit int
	// LockTTL is how long the claimed rows stay locked.
	LockTTL time.Duration
	// Exclude are channels not to claim (blocked ones).
	Exclude []string
	// Held are rows the node holds in memory (locked, not yet completed):
	// they count as part of their channel's prefix.
	Held []int64
	// ChannelCap is the most rows claimed per channel in one claim (0: no
	// cap), so one channel cannot take a whole batch.
	ChannelCap int
	// Room lowers ChannelCap for channels the node already holds rows of:
	// channel → rows it may still take.
	Room map[string]int
	// CommitTimes returns each row's commit time (needs
	// track_commit_timestamp = on; see Store.CommitTimestamps).
	CommitTimes bool
}

// ClaimedRow is a row locked for this node.
type ClaimedRow struct {
	connector.Row
	// Committed is when the claimed version of the row was committed
	// (pg_xact_commit_timestamp of its xmin), nil unless
	// OutboxClaimParams.CommitTimes.
	Committed *time.Time
	// PreviousHolder is the node whose lapsed lock this claim replaced
	// ("" when the row was not locked): a takeover.
	PreviousHolder string
}

// OutboxClaimResult is what a claim got.
type OutboxClaimResult struct {
	// Rows are the claimed rows in sequence_id order; per channel they
	// continue that channel's contiguous prefix.
	Rows []ClaimedRow
	// Registered is false when the node has no live row in the nodes table
	// (then nothing is claimed).
	Registered bool
	// Share and Nodes: this node's index among the live nodes, and their count.
	Share, Nodes int
	// Candidates counts claimable rows seen before the per-channel checks; a
	// claim with Candidates == Limit suggests more rows are waiting.
	Candidates int
	// Skipped are channels passed over this round: head locked by another
	// transaction or node, or a gap in the prefix.
	Skipped []string
	// Started is the local time before the claim began: the locks are
	// valid until at least Started + LockTTL on the database's clock.
	Started time.Time
}

// OutboxClaim locks the next rows of this node's channels, in one
// transaction of two round trips (BEGIN + steps 1-3; steps 4-7 + COMMIT):
//  1. this node's share (index among live nodes sorted by id);
//  2. the first Limit unlocked (or lapsed) unprocessed rows in
//     sequence_id order whose channel hashes to this share: candidate channels;
//  3. per candidate channel, pg_try_advisory_xact_lock (a channel being
//     claimed elsewhere right now is skipped);
//  4. channels where another node holds a live lock on any unprocessed row
//     are skipped;
//  5. rows of the remaining channels are locked FOR UPDATE SKIP LOCKED;
//  6. per channel only the contiguous prefix from its lowest unprocessed
//     row not held by this node (held: in Held and still under its live
//     lock) is kept: a skipped row ends the prefix; at most ChannelCap
//     rows (Room for channels already held) are kept per channel;
//  7. the prefix rows get locked_by = node, lock_expiry = now + LockTTL.
func (s *Store) OutboxClaim(ctx context.Context, p OutboxClaimParams) (res OutboxClaimResult, err error) {
	res.Started = time.Now()
	if p.Exclude == nil {
		p.Exclude = []string{}
	}
	if p.Held == nil {
		p.Held = []int64{}
	}
	roomCh, room := []string{}, []int32{}
	for ch, r := range p.Room {
		roomCh, room = append(roomCh, ch), append(room, int32(max(r, 0)))
	}
	chanCap := p.ChannelCap
	if chanCap <= 0 {
		chanCap = p.Limit
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer c.Release()
	inTx := false
	defer func() {
		if err != nil && inTx {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, rerr := c.Exec(rctx, "ROLLBACK"); rerr != nil {
				_ = c.Conn().Close(rctx) // unknown state: do not return it to the pool
			}
		}
	}()

	// Round trip 1: BEGIN; share, candidate channels and channel locks.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(fmt.Sprintf(`WITH me AS (
  SELECT idx, n FROM (
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx, count(*) OVER () AS n
    FROM %[1]s WHERE expiry >= %[3]s) s WHERE id = $1
), cand AS (
  SELECT o.channel FROM %[2]s o, me
  WHERE NOT o.processed AND (o.locked_by IS NULL OR o.lock_expiry < %[3]s) AND %[4]s
    AND o.channel <> ALL($2::text[])
  ORDER BY o.sequence_id LIMIT $3
), chans AS (
  SELECT channel, count(*) AS rows FROM cand GROUP BY channel
)
SELECT me.idx, me.n, c.channel, coalesce(c.rows, 0), coalesce(c.locked, false) FROM me LEFT JOIN LATERAL (
  SELECT channel, rows, pg_try_advisory_xact_lock(%[5]d, hashtext(channel)) AS locked FROM chans ORDER BY channel
) c ON true`, s.nodes, s.outbox, sqlNow, ownerSQL("o.channel", "me.n", "me.idx"), lockClassChannel),
		p.Node, p.Exclude, p.Limit)
	br := c.SendBatch(ctx, b)
	if _, err = br.Exec(); err != nil {
		br.Close()
		return res, err
	}
	inTx = true
	var cands, mine []string
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			var idx, n, count int64
			var ch *string
			var locked bool
			if err = rows.Scan(&idx, &n, &ch, &count, &locked); err != nil {
				break
			}
			res.Registered, res.Share, res.Nodes = true, int(idx), int(n)
			if ch == nil {
				continue
			}
			res.Candidates += int(count)
			cands = append(cands, *ch)
			if locked {
				mine = append(mine, *ch)
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	if len(mine) == 0 {
		res.Skipped = cands
		_, err = c.Exec(ctx, "COMMIT")
		inTx = err != nil
		return res, err
	}

	// Round trip 2: a new statement (its snapshot sees every claim
	// committed before we got the channel locks) that skips channels where
	// another node holds a live lock, locks rows (SKIP LOCKED), keeps per
	// channel the contiguous prefix of its unprocessed rows not held by
	// this node and locks that prefix; then COMMIT.
	b = &pgx.Batch{}
	b.Queue(fmt.Sprintf(`WITH free AS (
  SELECT ch FROM unnest($1::text[]) AS ch WHERE NOT EXISTS (
    SELECT 1 FROM %[1]s o WHERE o.channel = ch AND NOT o.processed AND o.lock_expiry >= %[2]s
      AND o.locked_by IS NOT NULL AND o.locked_by <> $4)
), locked AS (
  SELECT sequence_id, channel, CASE WHEN $9::bool THEN pg_xact_commit_timestamp(xmin) END AS committed,
    locked_by AS prev_holder FROM %[1]s
  WHERE channel IN (SELECT ch FROM free) AND NOT processed AND (locked_by IS NULL OR lock_expiry < %[2]s)
    AND sequence_id <> ALL($3::bigint[])
  ORDER BY sequence_id LIMIT $2 FOR UPDATE SKIP LOCKED
), maxes AS (
  SELECT channel, max(sequence_id) AS maxid FROM locked GROUP BY channel
), snap AS (
  SELECT m.channel, x.sequence_id, x.sequence_id IN (SELECT sequence_id FROM locked) AS ok
  FROM maxes m CROSS JOIN LATERAL (
    SELECT sequence_id FROM %[1]s o WHERE o.channel = m.channel AND NOT o.processed
      AND o.sequence_id <= m.maxid
      AND NOT coalesce(o.sequence_id = ANY($3::bigint[]) AND o.locked_by = $4 AND o.lock_expiry >= %[2]s, false)
    ORDER BY o.channel, o.sequence_id LIMIT $2 + cardinality($3::bigint[])) x
), prefix AS (
  SELECT sequence_id FROM (
    SELECT sequence_id, channel, bool_and(ok) OVER w AS keep, row_number() OVER w AS nth
    FROM snap WINDOW w AS (PARTITION BY channel ORDER BY sequence_id)) s
  WHERE keep AND nth <= coalesce((SELECT r.room FROM unnest($6::text[], $7::int[]) AS r(ch, room) WHERE r.ch = s.channel), $8)
)
UPDATE %[1]s o SET locked_by = $4, lock_expiry = %[2]s + $5::bigint * interval '1 microsecond'
FROM locked l WHERE l.sequence_id = o.sequence_id AND o.sequence_id = ANY(ARRAY(SELECT sequence_id FROM prefix))
RETURNING o.sequence_id, o.mutation_id, o.channel, o.name, o.rejected, o.data::text, o.headers::text, l.committed,
  coalesce(l.prev_holder, '')`, s.outbox, sqlNow),
		mine, p.Limit, p.Held, p.Node, p.LockTTL.Microseconds(), roomCh, room, chanCap, p.CommitTimes)
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, b)
	got := map[string]bool{}
	rows, err = br.Query()
	if err == nil {
		for rows.Next() {
			var r ClaimedRow
			var data, headers *string
			if err = rows.Scan(&r.SequenceID, &r.MutationID, &r.Channel, &r.Name, &r.Rejected, &data, &headers, &r.Committed, &r.PreviousHolder); err != nil {
				break
			}
			if data != nil {
				r.Data = []byte(*data)
			}
			if headers != nil {
				r.Headers = []byte(*headers)
			}
			got[r.Channel] = true
			res.Rows = append(res.Rows, r)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err == nil {
		_, err = br.Exec() // COMMIT
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		res.Rows = nil
		return res, err
	}
	inTx = false
	for _, ch := range cands {
		if !got[ch] {
			res.Skipped = append(res.Skipped, ch)
		}
	}
	sort.Slice(res.Rows, func(i, j int) bool { return res.Rows[i].SequenceID < res.Rows[j].SequenceID })
	return res, nil
}
