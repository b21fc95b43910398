// Package schema is the one place that knows LiveSync's database objects:
// the outbox and nodes tables, the notify function and its statement-level
// AFTER INSERT trigger, the connector role's grants and the recommended
// partial indexes. The sandbox provisions every backend through Provision,
// and the doctor checks a database against the same Names.
package schema

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the LISTEN/NOTIFY channel the connector waits on. It is
// fixed regardless of table names.
const NotifyChannel = "ably_adbc"

// DefaultRole is the role the connector logs in as.
const DefaultRole = "livesync_user"

// Names are the configurable locations of the LiveSync tables.
type Names struct {
	// OutboxSchema and OutboxTable locate the outbox ("public", "outbox").
	OutboxSchema, OutboxTable string
	// NodesSchema and NodesTable locate the nodes table ("public", "nodes").
	NodesSchema, NodesTable string
}

// DefaultNames are the names the LiveSync docs use.
func DefaultNames() Names {
	return Names{OutboxSchema: "public", OutboxTable: "outbox", NodesSchema: "public", NodesTable: "nodes"}
}

// WithDefaults fills empty fields from DefaultNames.
func (n Names) WithDefaults() Names { return n.withDefaults() }

// withDefaults fills empty fields from DefaultNames.
func (n Names) withDefaults() Names {
	d := DefaultNames()
	if n.OutboxSchema == "" {
		n.OutboxSchema = d.OutboxSchema
	}
	if n.OutboxTable == "" {
		n.OutboxTable = d.OutboxTable
	}
	if n.NodesSchema == "" {
		n.NodesSchema = d.NodesSchema
	}
	if n.NodesTable == "" {
		n.NodesTable = d.NodesTable
	}
	return n
}

// Outbox is the quoted, schema-qualified outbox table.
func (n Names) Outbox() string {
	n = n.withDefaults()
	return pgx.Identifier{n.OutboxSchema, n.OutboxTable}.Sanitize()
}

// Nodes is the quoted, schema-qualified nodes table.
func (n Names) Nodes() string {
	n = n.withDefaults()
	return pgx.Identifier{n.NodesSchema, n.NodesTable}.Sanitize()
}

// Sequence is the quoted outbox sequence, as serial names it.
func (n Names) Sequence() string {
	n = n.withDefaults()
	return pgx.Identifier{n.OutboxSchema, n.OutboxTable + "_sequence_id_seq"}.Sanitize()
}

// SequenceName is the unquoted, qualified sequence name (for regclass text).
func (n Names) SequenceName() string {
	n = n.withDefaults()
	return n.OutboxSchema + "." + n.OutboxTable + "_sequence_id_seq"
}

// NotifyFunctionName is the notify function's name, following the docs'
// pattern `<schema>.<outbox>_notify()`.
func (n Names) NotifyFunctionName() string {
	n = n.withDefaults()
	return n.OutboxTable + "_notify"
}

// NotifyFunction is the quoted, qualified notify function.
func (n Names) NotifyFunction() string {
	n = n.withDefaults()
	return pgx.Identifier{n.OutboxSchema, n.NotifyFunctionName()}.Sanitize()
}

// TriggerName follows the docs' pattern `<schema>_<outbox>_trigger`.
func (n Names) TriggerName() string {
	n = n.withDefaults()
	return n.OutboxSchema + "_" + n.OutboxTable + "_trigger"
}

// IndexName names one of the recommended partial indexes.
func (n Names) IndexName(suffix string) string {
	n = n.withDefaults()
	return n.OutboxTable + "_" + suffix
}

// quoteLiteral quotes a SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Index is one recommended partial index on the outbox.
type Index struct {
	// Suffix names the index: <outbox>_<suffix>.
	Suffix string
	// Columns is the indexed column list, e.g. "(channel, sequence_id)".
	Columns string
	// Where is the partial predicate.
	Where string
	// Why says which query needs it.
	Why string
}

// RecommendedIndexes are the partial indexes the monitor and connector rely
// on to stay fast on large outboxes (performance-anchors §2c).
var RecommendedIndexes = []Index{
	{Suffix: "pending_idx", Columns: "(sequence_id)", Where: "NOT processed", Why: "backlog count and claim order"},
	{Suffix: "channel_pending_idx", Columns: "(channel, sequence_id)", Where: "NOT processed", Why: "per-channel heads and backlog"},
	{Suffix: "lock_expiry_idx", Columns: "(lock_expiry)", Where: "NOT processed AND lock_expiry IS NOT NULL", Why: "expired and live locks"},
	{Suffix: "rejected_idx", Columns: "(sequence_id)", Where: "rejected", Why: "rejected rows"},
}

// CreateIndexSQL is the statement that creates idx.
func (n Names) CreateIndexSQL(idx Index) string {
	n = n.withDefaults()
	return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s %s WHERE %s",
		pgx.Identifier{n.IndexName(idx.Suffix)}.Sanitize(), n.Outbox(), idx.Columns, idx.Where)
}
