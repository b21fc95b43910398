package doctor

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// checkTombstone checks the retained processed row: after publishing, the
// connector deletes published rows except the highest sequence_id, which it
// keeps with processed = true so sequence_id never restarts and sync
// endpoints have a position to report. More than one processed row means
// deletes are not happening.
//
// On a table estimated above exactTombstoneRows rows it reads the planner's
// statistics for the processed column instead of scanning.
func (r *run) checkTombstone() error {
	if r.outboxOID == 0 {
		return nil
	}
	c := Check{ID: "outbox.tombstone", Title: "tombstone row in " + r.outboxName(), Status: OK}
	var empty bool
	err := r.q.QueryRow(r.ctx, "SELECT NOT EXISTS (SELECT 1 FROM "+r.names.Outbox()+")").Scan(&empty)
	if permissionDenied(err) {
		c.Status = Warn
		c.Detail = "not checked: the connecting user may not read the outbox; connect as its owner or the connector's role"
		r.add(c)
		return nil
	}
	if err != nil {
		return err
	}
	if empty {
		c.Detail = "the outbox is empty: no tombstone yet, so sync endpoints report sequence 0 and clients replay from the start until the first row is published"
		r.add(c)
		return nil
	}
	var size float64
	err = r.q.QueryRow(r.ctx, `SELECT GREATEST(c.reltuples::float8, COALESCE(s.n_live_tup, 0)::float8)
FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1`, r.outboxOID).Scan(&size)
	if err != nil {
		return err
	}
	var processed int64
	estimated := size > float64(exactTombstoneRows)
	if estimated {
		var frac *float64
		err := r.q.QueryRow(r.ctx, `SELECT COALESCE((SELECT u.f FROM unnest(s.most_common_vals::text::boolean[], s.most_common_freqs) AS u(v, f) WHERE u.v), 0)::float8
FROM pg_stats s WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = 'processed'`,
			r.names.OutboxSchema, r.names.OutboxTable).Scan(&frac)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && frac == nil) {
			c.Detail = fmt.Sprintf("not checked: about %.0f rows and no planner statistics; run ANALYZE %s", size, r.names.Outbox())
			r.add(c)
			return nil
		}
		if err != nil {
			return err
		}
		processed = int64(*frac*size + 0.5)
	} else {
		err := r.q.QueryRow(r.ctx, "SELECT count(*) FROM (SELECT 1 FROM "+r.names.Outbox()+" WHERE processed LIMIT 1001) s").Scan(&processed)
		if err != nil {
			return err
		}
	}
	about := ""
	if estimated {
		about = "about "
	}
	switch {
	case processed <= 1:
		c.Detail = fmt.Sprintf("%s%d processed row (the tombstone)", about, processed)
		if processed == 0 {
			c.Detail = about + "no processed row yet: nothing has been published"
		}
	default:
		count := fmt.Sprint(processed)
		if !estimated && processed > 1000 {
			count = "more than 1000"
		}
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s%s processed rows, want at most 1 (the tombstone): published rows are not being deleted", about, count)
		c.Fix = sqlList(fmt.Sprintf("DELETE FROM %[1]s WHERE processed AND sequence_id < (SELECT max(sequence_id) FROM %[1]s WHERE processed)", r.names.Outbox()))
	}
	r.add(c)
	return nil
}
