package monitor

import (
	"context"
	"fmt"
	"strings"

	"github.com/livesync-dev/livesync-dev/schema"
)

// IndexState says which of schema.RecommendedIndexes exist on the outbox,
// detected from the catalog by name or by definition.
type IndexState struct {
	// Pending is (sequence_id) WHERE NOT processed.
	Pending bool `json:"pending"`
	// ChannelPending is (channel, sequence_id) WHERE NOT processed.
	ChannelPending bool `json:"channelPending"`
	// LockExpiry is (lock_expiry) WHERE NOT processed AND lock_expiry IS NOT NULL.
	LockExpiry bool `json:"lockExpiry"`
	// Rejected is (sequence_id) WHERE rejected.
	Rejected bool `json:"rejected"`
	// Missing names the missing indexes.
	Missing []string `json:"missing"`
}

// indexDefTails are the ends of pg_get_indexdef output for each
// recommended index, so an index created under another name still counts.
var indexDefTails = map[string]string{
	"pending_idx":         "(sequence_id) WHERE (NOT processed)",
	"channel_pending_idx": "(channel, sequence_id) WHERE (NOT processed)",
	"lock_expiry_idx":     "(lock_expiry) WHERE ((NOT processed) AND (lock_expiry IS NOT NULL))",
	"rejected_idx":        "(sequence_id) WHERE rejected",
}

// indexes reads the outbox's valid indexes and matches them against the
// recommended ones. It returns ErrNoOutbox when the table is missing.
func (m *Monitor) indexes(ctx context.Context) (IndexState, error) {
	st := IndexState{Missing: []string{}}
	var exists bool
	outbox := m.opts.Names.Outbox()
	if err := m.db.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", outbox).Scan(&exists); err != nil {
		return st, err
	}
	if !exists {
		return st, fmt.Errorf("%w: %s (run `livesync-dev doctor` for the SQL that creates it, or `livesync-dev sandbox up --pg-url URL --provision`)", ErrNoOutbox, outbox)
	}
	rows, err := m.db.Query(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = to_regclass($1) AND i.indisvalid`, outbox)
	if err != nil {
		return st, err
	}
	defs := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return st, err
		}
		defs[name] = def
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	has := func(suffix string) bool {
		if _, ok := defs[m.opts.Names.IndexName(suffix)]; ok {
			return true
		}
		for _, def := range defs {
			if strings.HasSuffix(def, indexDefTails[suffix]) {
				return true
			}
		}
		return false
	}
	for _, idx := range schema.RecommendedIndexes {
		ok := has(idx.Suffix)
		switch idx.Suffix {
		case "pending_idx":
			st.Pending = ok
		case "channel_pending_idx":
			st.ChannelPending = ok
		case "lock_expiry_idx":
			st.LockExpiry = ok
		case "rejected_idx":
			st.Rejected = ok
		}
		if !ok {
			st.Missing = append(st.Missing, m.opts.Names.IndexName(idx.Suffix))
		}
	}
	return st, nil
}

// exactCounts reports whether the counting indexes exist.
func (st IndexState) exactCounts() bool { return st.Pending && st.LockExpiry && st.Rejected }
