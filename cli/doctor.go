package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/doctor"
	"github.com/livesync-dev/livesync-dev/schema"
)

func init() { commands = append(commands, newDoctorCommand) }

// doctorTimeout bounds connecting and running every check.
const doctorTimeout = 30 * time.Second

type doctorOptions struct {
	pgURL    string
	mongoURL string
	role     string
	json     bool
	names    schema.Names
}

func newDoctorCommand() *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a database against LiveSync's requirements",
		Long: `Check a Postgres database against what Ably LiveSync needs: the outbox and nodes
tables and their column types, the notify function (channel ably_adbc, exception
handler) and its statement-level AFTER INSERT trigger, the connector role and its
privileges (tables, sequence, schemas), the recommended indexes,
track_commit_timestamp, dead tuples and the tombstone row.

Each check prints OK, WARN or FAIL with the SQL that fixes it. Only catalog and
statistics queries run, so doctor is safe and quick on a large production outbox.
With --mongo-url, doctor checks a MongoDB deployment for the MongoDB connector
instead (reachable, replica set or sharded, version, pipeline, change streams on
mongo.collection, pre/post images for whenAvailable, the "ably" token collection
writable), using livesync.yaml's mongo section. An unreachable server is reported
within about ten seconds, naming the host.

Exit status 1 when any check fails.`,
		Example: `  livesync-dev doctor
  livesync-dev doctor --pg-url 'postgres://me@db.internal:5432/app' --as livesync_user
  livesync-dev doctor --outbox-schema app --outbox-table events --json
  livesync-dev doctor --mongo-url 'mongodb://127.0.0.1:27017/app?replicaSet=rs0'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDoctor(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.pgURL, "pg-url", "", "Postgres URL to check (default: postgres.url / $LIVESYNC_POSTGRES_URL, else the sandbox's)")
	f.StringVar(&o.role, "as", schema.DefaultRole, "role the connector logs in as, whose privileges are checked")
	f.StringVar(&o.mongoURL, "mongo-url", "", "MongoDB URL to check for the MongoDB connector (database from its path, else mongo.database)")
	f.BoolVar(&o.json, "json", false, `print one JSON document: {"checks":[{"id","title","status","detail","fix"}],"ok":bool}`)
	f.StringVar(&o.names.OutboxSchema, "outbox-schema", "", "schema of the outbox table (default: postgres.outboxTableSchema)")
	f.StringVar(&o.names.OutboxTable, "outbox-table", "", "name of the outbox table (default: postgres.outboxTableName)")
	f.StringVar(&o.names.NodesSchema, "nodes-schema", "", "schema of the nodes table (default: postgres.nodesTableSchema)")
	f.StringVar(&o.names.NodesTable, "nodes-table", "", "name of the nodes table (default: postgres.nodesTableName)")
	return cmd
}

func runDoctor(cmd *cobra.Command, o *doctorOptions) error {
	overrides := map[string]string{}
	for flag, key := range map[string]string{"outbox-schema": "postgres.outboxTableSchema", "outbox-table": "postgres.outboxTableName",
		"nodes-schema": "postgres.nodesTableSchema", "nodes-table": "postgres.nodesTableName", "pg-url": "postgres.url"} {
		if fl := cmd.Flags().Lookup(flag); fl.Changed && strings.TrimSpace(fl.Value.String()) == "" {
			return usageError("--%s must not be empty (see 'livesync-dev doctor --help')", flag)
		}
		changed(cmd, overrides, flag, key)
	}
	if o.mongoURL != "" {
		return runDoctorMongo(cmd, o)
	}
	if strings.TrimSpace(o.role) == "" {
		return usageError("--as must not be empty (see 'livesync-dev doctor --help')")
	}
	st, err := loadStack(cmd, overrides)
	if err != nil {
		return err
	}
	url, err := st.PostgresURL()
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	o.names = st.Names()
	ctx, cancel := context.WithTimeout(cmd.Context(), doctorTimeout)
	defer cancel()
	pool, err := st.Pool(ctx, "livesync-dev doctor", 1)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	defer pool.Close()
	checks, err := doctor.Run(ctx, pool, doctor.Params{Names: o.names, Role: o.role})
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("checking %s: %w", dbconn.Redact(url), err)}
	}
	out := cmd.OutOrStdout()
	if o.json {
		err = writeDoctorJSON(out, checks)
	} else {
		err = writeDoctorText(out, dbconn.Redact(url), o.role, checks)
	}
	if err != nil {
		return err
	}
	if doctor.Failed(checks) {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d checks failed: apply the SQL shown with each FAIL and run doctor again", doctor.Count(checks, doctor.Fail), len(checks))}
	}
	return nil
}

// doctorReport is the --json document.
type doctorReport struct {
	Checks []doctor.Check `json:"checks"`
	OK     bool           `json:"ok"`
}

func writeDoctorJSON(w io.Writer, checks []doctor.Check) error {
	if checks == nil {
		checks = []doctor.Check{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doctorReport{Checks: checks, OK: !doctor.Failed(checks)})
}

// writeDoctorText prints one aligned line per check and its fix SQL,
// indented, under it.
func writeDoctorText(w io.Writer, url, role string, checks []doctor.Check) error {
	var b strings.Builder
	if role != "" {
		fmt.Fprintf(&b, "Checking %s (connector role %s)\n\n", url, role)
	} else {
		fmt.Fprintf(&b, "Checking %s\n\n", url)
	}
	for _, c := range checks {
		fmt.Fprintf(&b, "%-4s  %s — %s\n", strings.ToUpper(string(c.Status)), c.Title, c.Detail)
		if c.Fix != "" && c.Status != doctor.OK {
			for _, line := range strings.Split(c.Fix, "\n") {
				b.WriteString("      " + line + "\n")
			}
		}
	}
	fmt.Fprintf(&b, "\n%d ok, %d warn, %d fail\n", doctor.Count(checks, doctor.OK), doctor.Count(checks, doctor.Warn), doctor.Count(checks, doctor.Fail))
	_, err := io.WriteString(w, b.String())
	return err
}
