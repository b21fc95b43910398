package doctor

import (
	"fmt"
	"strings"
)

// checkRole checks that the connector's role exists.
func (r *run) checkRole() error {
	var canLogin *bool
	err := r.q.QueryRow(r.ctx, "SELECT (SELECT rolcanlogin FROM pg_roles WHERE rolname = $1)", r.role).Scan(&canLogin)
	if err != nil {
		return err
	}
	title := "role " + r.role
	if canLogin == nil {
		r.add(Check{ID: "role", Title: title, Status: Fail,
			Detail: fmt.Sprintf("role %s does not exist: the connector cannot log in. Create it (choose a real password), or pass --as with the role the connector uses", r.role),
			Fix:    sqlList(fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", ident(r.role), literal("change-me")))})
		return nil
	}
	r.roleExists = true
	c := Check{ID: "role", Title: title, Status: OK, Detail: "exists and can log in"}
	if !*canLogin {
		c.Detail = "exists but cannot log in (NOLOGIN): fine when the connector logs in as a member of it"
	}
	r.add(c)
	return nil
}

// checkGrants checks the role's privileges: USAGE on the schemas, SELECT,
// INSERT, UPDATE, DELETE on both tables, USAGE and SELECT on the outbox
// sequence (livesync-connector-spec §1.2).
func (r *run) checkGrants() error {
	if !r.roleExists {
		return nil
	}
	role := ident(r.role)
	if err := r.schemaGrants(role); err != nil {
		return err
	}
	if err := r.tableGrants(role); err != nil {
		return err
	}
	return r.sequenceGrants(role)
}

func (r *run) schemaGrants(role string) error {
	c := Check{ID: "grants.schema", Title: "schema USAGE for " + r.role, Status: OK}
	var missing, fixes []string
	schemas := []string{r.names.OutboxSchema}
	if r.names.NodesSchema != r.names.OutboxSchema {
		schemas = append(schemas, r.names.NodesSchema)
	}
	var present []string
	for _, s := range schemas {
		var exists, ok bool
		err := r.q.QueryRow(r.ctx, `SELECT n.oid IS NOT NULL, COALESCE(has_schema_privilege($1, n.oid, 'USAGE'), false)
FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $2`, r.role, s).Scan(&exists, &ok)
		if err != nil {
			return err
		}
		if !exists {
			continue // the table checks report the missing schema's tables
		}
		present = append(present, s)
		if !ok {
			missing = append(missing, s)
			fixes = append(fixes, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", ident(s), role))
		}
	}
	if len(present) == 0 {
		return nil
	}
	if len(missing) > 0 {
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s has no USAGE on schema %s: it cannot see the tables even with table grants", r.role, strings.Join(missing, ", "))
		c.Fix = sqlList(fixes...)
	} else {
		c.Detail = "USAGE on " + strings.Join(present, ", ")
	}
	r.add(c)
	return nil
}

func (r *run) tableGrants(role string) error {
	c := Check{ID: "grants.tables", Title: "table privileges for " + r.role, Status: OK}
	var problems, fixes, checked []string
	for _, t := range []struct {
		oid           uint32
		name, display string
	}{{r.outboxOID, r.names.Outbox(), r.outboxName()}, {r.nodesOID, r.names.Nodes(), r.nodesName()}} {
		if t.oid == 0 {
			continue
		}
		checked = append(checked, t.display)
		var missing []string
		for _, priv := range []string{"SELECT", "UPDATE", "INSERT", "DELETE"} {
			var ok bool
			if err := r.q.QueryRow(r.ctx, "SELECT has_table_privilege($1, $2::oid, $3)", r.role, t.oid, priv).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				missing = append(missing, priv)
			}
		}
		if len(missing) > 0 {
			list := strings.Join(missing, ", ")
			problems = append(problems, fmt.Sprintf("no %s on %s", list, t.display))
			fixes = append(fixes, fmt.Sprintf("GRANT %s ON %s TO %s", list, t.name, role))
		}
	}
	if len(checked) == 0 {
		return nil
	}
	if len(problems) > 0 {
		c.Status = Fail
		c.Detail = r.role + " has " + strings.Join(problems, "; ") + ": the connector needs SELECT, UPDATE, INSERT, DELETE on both tables"
		c.Fix = sqlList(fixes...)
	} else {
		c.Detail = "SELECT, UPDATE, INSERT, DELETE on " + strings.Join(checked, " and ")
	}
	r.add(c)
	return nil
}

func (r *run) sequenceGrants(role string) error {
	if r.outboxOID == 0 {
		return nil
	}
	var seq *string
	if err := r.q.QueryRow(r.ctx, "SELECT pg_get_serial_sequence($1, 'sequence_id')", r.names.Outbox()).Scan(&seq); err != nil {
		return err
	}
	if seq == nil {
		return nil // outbox.table reports the missing sequence default
	}
	var usage, sel bool
	err := r.q.QueryRow(r.ctx, "SELECT has_sequence_privilege($1, $2, 'USAGE'), has_sequence_privilege($1, $2, 'SELECT')", r.role, *seq).Scan(&usage, &sel)
	if err != nil {
		return err
	}
	c := Check{ID: "grants.sequence", Title: "sequence privileges for " + r.role, Status: OK,
		Detail: "USAGE, SELECT on " + *seq}
	if !usage || !sel {
		var missing []string
		if !usage {
			missing = append(missing, "USAGE")
		}
		if !sel {
			missing = append(missing, "SELECT")
		}
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s has no %s on sequence %s: inserts as this role fail with \"permission denied for sequence\"", r.role, strings.Join(missing, ", "), *seq)
		c.Fix = sqlList(fmt.Sprintf("GRANT USAGE, SELECT ON SEQUENCE %s TO %s", *seq, role))
	}
	r.add(c)
	return nil
}
