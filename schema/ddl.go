package schema

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CreateNodesSQL creates the nodes table.
func (n Names) CreateNodesSQL() string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  id TEXT PRIMARY KEY,
  expiry TIMESTAMP WITHOUT TIME ZONE NOT NULL
)`, n.Nodes())
}

// CreateOutboxSQL creates the outbox table with the documented columns.
func (n Names) CreateOutboxSQL() string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  sequence_id  SERIAL PRIMARY KEY,
  mutation_id  TEXT NOT NULL,
  channel      TEXT NOT NULL,
  name         TEXT NOT NULL,
  rejected     BOOLEAN NOT NULL DEFAULT false,
  data         JSONB,
  headers      JSONB,
  locked_by    TEXT,
  lock_expiry  TIMESTAMP WITHOUT TIME ZONE,
  processed    BOOLEAN NOT NULL DEFAULT false
)`, n.Outbox())
}

// CreateNotifyFunctionSQL creates the trigger function: it notifies
// ably_adbc with an empty payload and turns any error into a WARNING so the
// application's INSERT never fails.
func (n Names) CreateNotifyFunctionSQL() string {
	return fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify(%s, '');
  RETURN NULL;
EXCEPTION
  -- ensure this function can never throw an uncaught exception
  WHEN others THEN
    RAISE WARNING 'unexpected error in %%: %%', TG_NAME, SQLERRM;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql`, n.NotifyFunction(), quoteLiteral(NotifyChannel))
}

// CreateTriggerSQL attaches the notify function as a statement-level AFTER
// INSERT trigger (one notification per INSERT statement, not per row). It
// creates the trigger only when the table has none of that name, so it works
// on servers older than PostgreSQL 14 and leaves an existing trigger alone.
func (n Names) CreateTriggerSQL() string {
	return fmt.Sprintf(`DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s) THEN
    CREATE TRIGGER %s
    AFTER INSERT ON %s
    FOR EACH STATEMENT EXECUTE PROCEDURE %s();
  END IF;
END
$do$`, quoteLiteral(n.Outbox()), quoteLiteral(n.TriggerName()),
		pgx.Identifier{n.TriggerName()}.Sanitize(), n.Outbox(), n.NotifyFunction())
}

// GrantSQL returns the documented grants for role: SELECT, UPDATE, INSERT,
// DELETE on both tables, USAGE and SELECT on the outbox sequence, and USAGE
// on each non-public schema.
func (n Names) GrantSQL(role string) []string {
	n = n.withDefaults()
	r := pgx.Identifier{role}.Sanitize()
	var out []string
	seen := map[string]bool{"public": true}
	for _, s := range []string{n.OutboxSchema, n.NodesSchema} {
		if !seen[s] {
			seen[s] = true
			out = append(out, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", pgx.Identifier{s}.Sanitize(), r))
		}
	}
	out = append(out,
		fmt.Sprintf("GRANT SELECT, UPDATE, INSERT, DELETE ON %s, %s TO %s", n.Outbox(), n.Nodes(), r),
		fmt.Sprintf("GRANT USAGE, SELECT ON SEQUENCE %s TO %s", n.Sequence(), r),
	)
	return out
}

// CreateSchemaSQL creates a non-public schema if needed.
func CreateSchemaSQL(schema string) string {
	return fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s", pgx.Identifier{schema}.Sanitize())
}
