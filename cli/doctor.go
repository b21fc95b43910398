package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/doctor"
	"github.com/livesync-dev/livesync-dev/sandbox"
	"github.com/livesync-dev/livesync-dev/schema"
)

func init() { commands = append(commands, newDoctorCommand) }

// postgresURLEnv names the environment variable that supplies --pg-url.
const postgresURLEnv = "LIVESYNC_POSTGRES_URL"

// doctorTimeout bounds connecting and running every check.
const doctorTimeout = 30 * time.Second

type doctorOptions struct {
	pgURL string
	role  string
	json  bool
	names schema.Names
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
Exit status 1 when any check fails.`,
		Example: `  livesync-dev doctor
  livesync-dev doctor --pg-url 'postgres://me@db.internal:5432/app' --as livesync_user
  livesync-dev doctor --outbox-schema app --outbox-table events --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDoctor(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.pgURL, "pg-url", "", "Postgres URL to check (default: $"+postgresURLEnv+", else the sandbox's)")
	f.StringVar(&o.role, "as", schema.DefaultRole, "role the connector logs in as, whose privileges are checked")
	f.BoolVar(&o.json, "json", false, `print one JSON document: {"checks":[{"id","title","status","detail","fix"}],"ok":bool}`)
	d := schema.DefaultNames()
	f.StringVar(&o.names.OutboxSchema, "outbox-schema", d.OutboxSchema, "schema of the outbox table")
	f.StringVar(&o.names.OutboxTable, "outbox-table", d.OutboxTable, "name of the outbox table")
	f.StringVar(&o.names.NodesSchema, "nodes-schema", d.NodesSchema, "schema of the nodes table")
	f.StringVar(&o.names.NodesTable, "nodes-table", d.NodesTable, "name of the nodes table")
	return cmd
}

func runDoctor(cmd *cobra.Command, o *doctorOptions) error {
	for flag, v := range map[string]string{"--as": o.role, "--outbox-schema": o.names.OutboxSchema,
		"--outbox-table": o.names.OutboxTable, "--nodes-schema": o.names.NodesSchema, "--nodes-table": o.names.NodesTable} {
		if strings.TrimSpace(v) == "" {
			return usageError("%s must not be empty (see 'livesync-dev doctor --help')", flag)
		}
	}
	url := o.pgURL
	if url == "" {
		var err error
		if url, err = defaultPostgresURL(); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), doctorTimeout)
	defer cancel()
	conn, err := dbconn.Connect(ctx, url, "livesync-dev doctor")
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	defer conn.Close(context.Background())
	checks, err := doctor.Run(ctx, conn, doctor.Params{Names: o.names, Role: o.role})
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

// defaultPostgresURL is the database doctor checks when --pg-url is absent:
// $LIVESYNC_POSTGRES_URL, else the sandbox's.
func defaultPostgresURL() (string, error) {
	if url := os.Getenv(postgresURLEnv); url != "" {
		return url, nil
	}
	st, err := sandbox.LoadFrom(".")
	if errors.Is(err, sandbox.ErrDamaged) {
		return "", err
	}
	if err != nil {
		return "", errors.New("no --pg-url given and no sandbox found: run `livesync-dev sandbox up` or pass --pg-url")
	}
	return st.Postgres.URL, nil
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
	fmt.Fprintf(&b, "Checking %s (connector role %s)\n\n", url, role)
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
