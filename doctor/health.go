package doctor

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/schema"
)

// Thresholds of the outbox health checks.
const (
	// DeadTuplesMax is the dead-tuple count above which claims slow down
	// noticeably (performance-anchors: ~60x claim latency at 24k).
	DeadTuplesMax = 10000
	// DeadTuplesRatio is the dead/live ratio above which doctor warns once
	// there are at least DeadTuplesMin dead tuples.
	DeadTuplesRatio = 0.2
	// DeadTuplesMin keeps the ratio rule quiet on small tables.
	DeadTuplesMin = 1000
)

// exactTombstoneRows is the estimated table size up to which the tombstone
// check scans the table; above it, it reads planner statistics instead.
var exactTombstoneRows = 200000

var indexDef = regexp.MustCompile(`(?i)USING \w+ \((.*?)\)(?: WHERE (.*))?$`)

// checkIndexes checks the recommended partial indexes. An index matches by
// columns and predicate, whatever its name.
func (r *run) checkIndexes() error {
	if r.outboxOID == 0 {
		return nil
	}
	rows, err := r.q.Query(r.ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1`, r.outboxOID)
	if err != nil {
		return err
	}
	type index struct {
		name, key string
		valid     bool
	}
	var have []index
	for rows.Next() {
		var ix index
		var def string
		if err := rows.Scan(&ix.name, &def, &ix.valid); err != nil {
			rows.Close()
			return err
		}
		if m := indexDef.FindStringSubmatch(def); m != nil {
			ix.key = normalize(m[1]) + "|" + normalize(m[2])
		}
		have = append(have, ix)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, want := range schema.RecommendedIndexes {
		name := r.names.IndexName(want.Suffix)
		c := Check{ID: "index." + want.Suffix, Title: fmt.Sprintf("index %s (%s)", name, want.Why), Status: Warn}
		key := normalize(want.Columns) + "|" + normalize(want.Where)
		create := strings.Replace(r.names.CreateIndexSQL(want), "CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1)
		c.Detail = fmt.Sprintf("missing %s WHERE %s: on a large outbox this query scans the whole table", want.Columns, want.Where)
		c.Fix = sqlList(create)
		for _, ix := range have {
			if ix.key != key {
				continue
			}
			if ix.valid {
				c.Status, c.Fix = OK, ""
				c.Detail = "present as " + ix.name
				break
			}
			c.Detail = ix.name + " is INVALID (an interrupted CREATE INDEX CONCURRENTLY): drop and recreate it"
			c.Fix = sqlList("DROP INDEX CONCURRENTLY "+ident(r.names.OutboxSchema)+"."+ident(ix.name), create)
		}
		r.add(c)
	}
	return nil
}

// normalize reduces an index column list or predicate to a comparable form.
func normalize(s string) string {
	return strings.Map(func(c rune) rune {
		switch c {
		case ' ', '(', ')', '"', '\t', '\n':
			return -1
		}
		return c
	}, strings.ToLower(s))
}

// checkCommitTimestamps checks track_commit_timestamp.
func (r *run) checkCommitTimestamps() error {
	var v string
	if err := r.q.QueryRow(r.ctx, "SELECT current_setting('track_commit_timestamp')").Scan(&v); err != nil {
		return err
	}
	c := Check{ID: "track_commit_timestamp", Title: "track_commit_timestamp", Status: OK, Detail: "on: the monitor shows the age of the oldest pending row"}
	if v != "on" {
		c.Status = Warn
		c.Detail = "off: the monitor cannot tell how old pending rows are and falls back to lock and node times"
		c.Fix = "ALTER SYSTEM SET track_commit_timestamp = on; -- takes effect after a server restart"
	}
	r.add(c)
	return nil
}

// checkDeadTuples reads the outbox's dead tuples from pg_stat_user_tables.
func (r *run) checkDeadTuples() error {
	if r.outboxOID == 0 {
		return nil
	}
	var live, dead int64
	var lastAuto, lastManual *time.Time
	err := r.q.QueryRow(r.ctx, `SELECT n_live_tup, n_dead_tup, last_autovacuum, last_vacuum
FROM pg_stat_user_tables WHERE relid = $1`, r.outboxOID).Scan(&live, &dead, &lastAuto, &lastManual)
	c := Check{ID: "outbox.dead_tuples", Title: "dead tuples in " + r.outboxName(), Status: OK}
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			c.Detail = "no statistics yet"
			r.add(c)
			return nil
		}
		return err
	}
	last := "never vacuumed"
	if t := latest(lastAuto, lastManual); t != nil {
		last = "last vacuum " + t.UTC().Format(time.RFC3339)
	}
	c.Detail = fmt.Sprintf("%d dead, %d live (%s)", dead, live, last)
	if dead > DeadTuplesMax || (dead >= DeadTuplesMin && float64(dead) > DeadTuplesRatio*float64(live)) {
		c.Status = Warn
		c.Detail += ": dead tuples slow every claim; check that autovacuum keeps up"
		c.Fix = sqlList("VACUUM (ANALYZE) " + r.names.Outbox())
	}
	r.add(c)
	return nil
}

func latest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.After(*b):
		return a
	}
	return b
}
