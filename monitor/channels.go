package monitor

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// Bounds of the per-channel scan.
const (
	// channelScanLimit is how many channels the skip scan visits.
	channelScanLimit = 200
	// channelCountCap caps each channel's count.
	channelCountCap = 1000
	// channelSample is how many of the oldest pending rows the index-less
	// paths sample (channels, locks).
	channelSample = 2000
)

// headInfo is a channel's lowest pending row.
type headInfo struct {
	channel  string
	row      agedRow
	lockedBy *string
	pending  int64
	capped   bool
}

// channels fills the per-channel backlog and remembers each channel's head
// row for the diagnosis. With the (channel, sequence_id) index it walks the
// distinct channels by a skip scan and counts each one up to a cap; without
// it, it groups a bounded sample of the oldest pending rows (estimated).
func (m *Monitor) channels(ctx context.Context, s *Snapshot) error {
	o := m.opts.Names.Outbox()
	var q string
	estimated := !s.Indexes.ChannelPending
	if estimated {
		q = fmt.Sprintf(`WITH s AS (SELECT %[2]s, channel, locked_by FROM %[1]s WHERE NOT processed ORDER BY sequence_id LIMIT %[3]d)
SELECT DISTINCT ON (channel) channel, sequence_id, never_updated, commit_age, lock_expiry, locked_by,
  count(*) OVER (PARTITION BY channel)
FROM s ORDER BY channel, sequence_id`, o, ageColumns, channelSample)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE ch AS (
  (SELECT channel FROM %[1]s WHERE NOT processed ORDER BY channel LIMIT 1)
  UNION ALL
  SELECT (SELECT o2.channel FROM %[1]s o2 WHERE NOT o2.processed AND o2.channel > ch.channel ORDER BY o2.channel LIMIT 1)
  FROM ch WHERE ch.channel IS NOT NULL
)
SELECT c.channel, h.sequence_id, h.never_updated, h.commit_age, h.lock_expiry, h.locked_by,
  (SELECT count(*) FROM (SELECT 1 FROM %[1]s o3 WHERE NOT o3.processed AND o3.channel = c.channel LIMIT %[4]d) x)
FROM (SELECT channel FROM ch WHERE channel IS NOT NULL LIMIT %[3]d) c
CROSS JOIN LATERAL (SELECT %[2]s, locked_by FROM %[1]s WHERE NOT processed AND channel = c.channel ORDER BY sequence_id LIMIT 1) h`,
			o, ageColumns, channelScanLimit, channelCountCap+1)
	}
	rows, err := m.db.Query(ctx, q)
	if err != nil {
		return err
	}
	heads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (headInfo, error) {
		var h headInfo
		err := r.Scan(&h.channel, &h.row.id, &h.row.neverUpdated, &h.row.commitAge, &h.row.lockExpiry, &h.lockedBy, &h.pending)
		if !estimated && h.pending > channelCountCap {
			h.pending, h.capped = channelCountCap, true
		}
		if h.row.lockExpiry != nil {
			t := utc(*h.row.lockExpiry)
			h.row.lockExpiry = &t
		}
		return h, err
	})
	if err != nil {
		return err
	}
	s.heads = heads
	sorted := append([]headInfo(nil), heads...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].pending != sorted[j].pending {
			return sorted[i].pending > sorted[j].pending
		}
		return sorted[i].row.id < sorted[j].row.id
	})
	for i, h := range sorted {
		if i == m.opts.TopChannels {
			break
		}
		s.Channels = append(s.Channels, ChannelBacklog{Channel: h.channel, Pending: h.pending, Capped: h.capped,
			HeadSequenceID: h.row.id, HeadLockedBy: h.lockedBy, Estimated: estimated})
	}
	return nil
}

// nodes reads the nodes table with each node's locked-row count.
func (m *Monitor) nodes(ctx context.Context, s *Snapshot) error {
	locked := fmt.Sprintf("SELECT locked_by, count(*) AS cnt FROM %s WHERE NOT processed AND lock_expiry IS NOT NULL GROUP BY locked_by", m.opts.Names.Outbox())
	count := "coalesce(l.cnt, 0)"
	if !s.Indexes.LockExpiry {
		locked, count = "SELECT NULL::text AS locked_by, NULL::bigint AS cnt", "NULL::bigint"
	}
	q := fmt.Sprintf(`SELECT n.id, n.expiry, extract(epoch FROM n.expiry - %[2]s)::float8, n.expiry > %[2]s, %[4]s
FROM %[1]s n LEFT JOIN (%[3]s) l ON l.locked_by = n.id
ORDER BY n.id LIMIT 1000`, m.opts.Names.Nodes(), nowSQL, locked, count)
	rows, err := m.db.Query(ctx, q)
	if err != nil {
		return err
	}
	own := map[string]bool{}
	for _, id := range m.opts.OwnNodes {
		own[id] = true
	}
	nodes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Node, error) {
		var n Node
		var exp time.Time
		err := r.Scan(&n.ID, &exp, &n.ExpiresInSeconds, &n.Alive, &n.RowsLocked)
		n.Expiry, n.Own = utc(exp), own[n.ID]
		return n, err
	})
	if err != nil {
		return err
	}
	s.Nodes = append(s.Nodes, nodes...)
	return nil
}

// liveNodes returns the ids of nodes whose lease has not expired.
func (s *Snapshot) liveNodes() map[string]bool {
	live := map[string]bool{}
	for _, n := range s.Nodes {
		if n.Alive {
			live[n.ID] = true
		}
	}
	return live
}

// NodesLiveForeign returns the ids of nodes with a live lease that are not
// among OwnNodes (before our connector starts: every live node).
func (m *Monitor) NodesLiveForeign(ctx context.Context) ([]string, error) {
	q := fmt.Sprintf("SELECT id FROM %s WHERE expiry > %s AND NOT (id = ANY($1)) ORDER BY id", m.opts.Names.Nodes(), nowSQL)
	rows, err := m.db.Query(ctx, q, append([]string{}, m.opts.OwnNodes...))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
