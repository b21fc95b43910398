package schema

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ProvisionParams says what Provision creates.
type ProvisionParams struct {
	// Names locate the tables.
	Names Names
	// Role receives the documented grants; created (LOGIN) when missing.
	// Empty means DefaultRole.
	Role string
	// RolePassword is set on a role Provision creates ("" = no password).
	RolePassword string
	// NoIndexes leaves out the recommended partial indexes (a bare
	// production schema).
	NoIndexes bool
}

// Statements returns every statement Provision runs, in order; `doctor`
// shows the relevant ones as fixes.
func (p ProvisionParams) Statements() []string {
	n := p.Names.withDefaults()
	role := p.Role
	if role == "" {
		role = DefaultRole
	}
	var out []string
	for _, s := range uniq(n.OutboxSchema, n.NodesSchema) {
		if s != "public" {
			out = append(out, CreateSchemaSQL(s))
		}
	}
	out = append(out, n.CreateNodesSQL(), n.CreateOutboxSQL(), n.CreateNotifyFunctionSQL(), n.CreateTriggerSQL())
	if !p.NoIndexes {
		for _, idx := range RecommendedIndexes {
			out = append(out, n.CreateIndexSQL(idx))
		}
	}
	out = append(out, n.GrantSQL(role)...)
	return out
}

func uniq(xs ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// ErrInsufficientPrivilege wraps a provisioning failure caused by missing
// privileges (for example --provision on an external database without
// CREATE).
var ErrInsufficientPrivilege = errors.New("insufficient privilege")

// Provision creates the LiveSync objects in one transaction: all or
// nothing. It is idempotent: running it on a provisioned database changes
// nothing. The role is cluster-wide and created outside the transaction's
// failure scope only when missing.
func Provision(ctx context.Context, conn *pgx.Conn, p ProvisionParams) error {
	role := p.Role
	if role == "" {
		role = DefaultRole
	}
	if err := ensureRole(ctx, conn, role, p.RolePassword); err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	// Serialise concurrent provisioning of the same database.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('livesync-dev provision'))"); err != nil {
		return err
	}
	for _, stmt := range p.Statements() {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return explain(stmt, err)
		}
	}
	return tx.Commit(ctx)
}

func ensureRole(ctx context.Context, conn *pgx.Conn, role, password string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	stmt := fmt.Sprintf("CREATE ROLE %s LOGIN", pgx.Identifier{role}.Sanitize())
	if password != "" {
		stmt += " PASSWORD " + quoteLiteral(password)
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42710" { // created concurrently
			return nil
		}
		return explain(fmt.Sprintf("CREATE ROLE %s LOGIN", pgx.Identifier{role}.Sanitize()), err)
	}
	return nil
}

// explain turns a provisioning error into one that names the statement and,
// for privilege errors, says what is needed.
func explain(stmt string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return fmt.Errorf("%w: %s\nwhile running: %s\nfix: connect as a role that owns the schema and may CREATE there (and CREATEROLE for the %s role), or ask your DBA to run `livesync-dev doctor` and apply its SQL", ErrInsufficientPrivilege, pgErr.Message, stmt, DefaultRole)
	}
	return fmt.Errorf("provisioning failed: %w\nwhile running: %s", err, stmt)
}
