package doctor

import (
	"fmt"
	"strings"

	"github.com/livesync-dev/livesync-dev/schema"
)

// column is one required column (livesync-connector-spec §1.2).
type column struct {
	name    string
	typ     string   // format_type() spelling
	alt     []string // other types that work as well
	ddl     string   // column definition for ADD COLUMN
	notNull bool
	def     string // required default: "false", "nextval" or ""
	pk      bool
}

var outboxColumns = []column{
	{name: "sequence_id", typ: "integer", alt: []string{"bigint"}, ddl: "SERIAL PRIMARY KEY", notNull: true, def: "nextval", pk: true},
	{name: "mutation_id", typ: "text", alt: []string{"character varying"}, ddl: "TEXT NOT NULL DEFAULT ''", notNull: true},
	{name: "channel", typ: "text", alt: []string{"character varying"}, ddl: "TEXT NOT NULL DEFAULT ''", notNull: true},
	{name: "name", typ: "text", alt: []string{"character varying"}, ddl: "TEXT NOT NULL DEFAULT ''", notNull: true},
	{name: "rejected", typ: "boolean", ddl: "BOOLEAN NOT NULL DEFAULT false", notNull: true, def: "false"},
	{name: "data", typ: "jsonb", ddl: "JSONB"},
	{name: "headers", typ: "jsonb", ddl: "JSONB"},
	{name: "locked_by", typ: "text", alt: []string{"character varying"}, ddl: "TEXT"},
	{name: "lock_expiry", typ: "timestamp without time zone", ddl: "TIMESTAMP WITHOUT TIME ZONE"},
	{name: "processed", typ: "boolean", ddl: "BOOLEAN NOT NULL DEFAULT false", notNull: true, def: "false"},
}

var nodesColumns = []column{
	{name: "id", typ: "text", alt: []string{"character varying"}, ddl: "TEXT PRIMARY KEY", notNull: true, pk: true},
	{name: "expiry", typ: "timestamp without time zone", ddl: "TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT (now() AT TIME ZONE 'utc')", notNull: true},
}

// actualColumn is a column as the catalog describes it.
type actualColumn struct {
	typ      string
	notNull  bool
	def      string
	identity bool
	pk       bool
}

// checkOutbox checks that the outbox exists with the documented columns.
func (r *run) checkOutbox() error {
	oid, err := r.relOID(r.names.Outbox())
	if err != nil {
		return err
	}
	r.outboxOID = oid
	title := "outbox table " + r.outboxName()
	if oid == 0 {
		stmts := schema.ProvisionParams{Names: r.names, Role: r.role}.Statements()
		r.add(Check{ID: "outbox.table", Title: title, Status: Fail,
			Detail: fmt.Sprintf("%s does not exist: the connector has nothing to read. Create it (with its trigger, indexes and grants) with the SQL below, or run `livesync-dev sandbox up --pg-url URL --provision`", r.outboxName()),
			Fix:    sqlList(stmts...)})
		return nil
	}
	c, err := r.tableCheck("outbox.table", title, oid, r.names.Outbox(), outboxColumns)
	r.add(c)
	return err
}

// checkNodes checks that the nodes table exists with the documented columns.
func (r *run) checkNodes() error {
	oid, err := r.relOID(r.names.Nodes())
	if err != nil {
		return err
	}
	r.nodesOID = oid
	title := "nodes table " + r.nodesName()
	if oid == 0 {
		stmts := []string{}
		if r.names.NodesSchema != "public" {
			stmts = append(stmts, schema.CreateSchemaSQL(r.names.NodesSchema))
		}
		stmts = append(stmts, r.names.CreateNodesSQL())
		if r.roleExists {
			stmts = append(stmts, fmt.Sprintf("GRANT SELECT, UPDATE, INSERT, DELETE ON %s TO %s", r.names.Nodes(), ident(r.role)))
		}
		r.add(Check{ID: "nodes.table", Title: title, Status: Fail,
			Detail: fmt.Sprintf("%s does not exist: connector nodes cannot register or share work", r.nodesName()),
			Fix:    sqlList(stmts...)})
		return nil
	}
	c, err := r.tableCheck("nodes.table", title, oid, r.names.Nodes(), nodesColumns)
	r.add(c)
	return err
}

// tableCheck compares a table's columns with want.
func (r *run) tableCheck(id, title string, oid uint32, table string, want []column) (Check, error) {
	got, err := r.columns(oid)
	if err != nil {
		return Check{}, err
	}
	c := Check{ID: id, Title: title, Status: OK}
	var problems, fixes []string
	problem := func(s Status, msg string, fix ...string) {
		if s.rank() > c.Status.rank() {
			c.Status = s
		}
		problems = append(problems, msg)
		fixes = append(fixes, fix...)
	}
	alter := "ALTER TABLE " + table + " "
	for _, w := range want {
		a, ok := got[w.name]
		col := ident(w.name)
		if !ok {
			problem(Fail, fmt.Sprintf("column %s is missing", w.name), alter+"ADD COLUMN "+col+" "+w.ddl)
			continue
		}
		if a.typ != w.typ && !contains(w.alt, a.typ) {
			using := col + "::" + w.typ
			if a.typ == "timestamp with time zone" && w.typ == "timestamp without time zone" {
				using = col + " AT TIME ZONE 'UTC'"
			}
			problem(Fail, fmt.Sprintf("%s is %s, want %s", w.name, a.typ, w.typ),
				alter+"ALTER COLUMN "+col+" TYPE "+w.typ+" USING "+using)
		}
		if w.notNull && !a.notNull {
			problem(Warn, fmt.Sprintf("%s allows NULL, want NOT NULL", w.name), alter+"ALTER COLUMN "+col+" SET NOT NULL")
		}
		switch {
		case w.def == "nextval" && !a.identity && !strings.HasPrefix(a.def, "nextval("):
			seq := r.names.Sequence()
			problem(Fail, fmt.Sprintf("%s has no default from a sequence: inserts without it fail", w.name),
				"CREATE SEQUENCE IF NOT EXISTS "+seq+" OWNED BY "+table+"."+col,
				fmt.Sprintf("SELECT setval(%s, COALESCE((SELECT max(%s) FROM %s), 0) + 1, false)", literal(seq), col, table),
				alter+"ALTER COLUMN "+col+" SET DEFAULT nextval("+literal(seq)+")")
		case w.def == "false" && a.def != "false":
			problem(Fail, fmt.Sprintf("%s has default %s, want false: rows the application inserts would not be picked up as pending", w.name, orNone(a.def)),
				alter+"ALTER COLUMN "+col+" SET DEFAULT false")
		}
		if w.pk && !a.pk {
			problem(Warn, fmt.Sprintf("%s is not the primary key", w.name), alter+"ADD PRIMARY KEY ("+col+")")
		}
	}
	if len(problems) == 0 {
		c.Detail = "all documented columns present with the right types"
		return c, nil
	}
	c.Detail = strings.Join(problems, "; ")
	c.Fix = sqlList(fixes...)
	return c, nil
}

// columns reads a table's columns from the catalog.
func (r *run) columns(oid uint32) (map[string]actualColumn, error) {
	rows, err := r.q.Query(r.ctx, `
SELECT a.attname, format_type(a.atttypid, NULL), a.attnotnull,
       COALESCE(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity <> '',
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary
               AND i.indnatts = 1 AND i.indkey[0] = a.attnum)
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`, oid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]actualColumn{}
	for rows.Next() {
		var name string
		var c actualColumn
		if err := rows.Scan(&name, &c.typ, &c.notNull, &c.def, &c.identity, &c.pk); err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, rows.Err()
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
