package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

func init() { commands = append(commands, newStatusCommand) }

// monitorFlags choose the database the monitor commands read and whether
// they may write.
type monitorFlags struct {
	pgURL    string
	readonly bool
	jsonOut  bool
}

// register adds --pg-url (and --readonly for write commands).
func (f *monitorFlags) register(cmd *cobra.Command, writes bool) {
	cmd.Flags().StringVar(&f.pgURL, "pg-url", "", "Postgres URL of the outbox (default: $LIVESYNC_POSTGRES_URL, else the sandbox's)")
	if writes {
		cmd.Flags().BoolVar(&f.readonly, "readonly", false, "refuse every write (for shared databases)")
	}
}

// openMonitor connects to the database (--pg-url, $LIVESYNC_POSTGRES_URL or
// the sandbox) and returns a monitor and a closer. Inside a sandbox, nodes
// registered in .livesync/nodes are our own connectors.
func openMonitor(ctx context.Context, f monitorFlags) (*monitor.Monitor, func(), error) {
	url := f.pgURL
	var st *sandbox.State
	if url == "" {
		var err error
		if url, err = defaultPostgresURL(); err != nil {
			return nil, nil, err
		}
	}
	if s, err := sandbox.LoadFrom("."); err == nil && (f.pgURL == "" || s.Postgres.URL == url) {
		st = s
	}
	pool, err := dbconn.Pool(ctx, url, "livesync-dev monitor", 4)
	if err != nil {
		return nil, nil, err
	}
	opts := monitor.Options{ReadOnly: f.readonly}
	if st != nil {
		reg := monitor.NodeRegistry{Dir: filepath.Join(st.Dir(), sandbox.DirName, "nodes")}
		if ids := reg.NodeIDs(); len(ids) > 0 {
			opts.OwnNodes, opts.Connector = ids, reg
		}
	}
	return monitor.New(pool, opts), pool.Close, nil
}

// withMonitor opens the monitor for one command, runs fn within timeout
// and closes the database; monitor errors get their exit status and advice.
func withMonitor(cmd *cobra.Command, f monitorFlags, timeout time.Duration, fn func(context.Context, *monitor.Monitor) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	m, closeDB, err := openMonitor(ctx, f)
	if err != nil {
		return err
	}
	defer closeDB()
	return fn(ctx, m)
}

// monitorError maps monitor errors to exit statuses and adds advice.
func monitorError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, monitor.ErrReadOnly), errors.Is(err, monitor.ErrMissingRows),
		errors.Is(err, monitor.ErrRefused), errors.Is(err, monitor.ErrPermission), errors.Is(err, monitor.ErrNoOutbox):
		return &ExitError{Code: 1, Err: err}
	}
	return err
}

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newStatusCommand() *cobra.Command {
	var f monitorFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show one snapshot of the outbox: backlog, ages, nodes, stuck rows, trigger, warnings",
		Long: "Take one monitor snapshot with the database clock: pending/locked/rejected counts, the oldest\n" +
			"pending and oldest claimable ages, node leases, each stuck row with its reason and what to do,\n" +
			"the trigger, dead tuples and warnings. Stuck rows are data: the exit status is still 0.\n" +
			"Without the recommended indexes the counts are planner estimates (estimated: true).",
		Example: "  livesync-dev status\n  livesync-dev status --json | jq .outbox",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMonitor(cmd, f, 30*time.Second, func(ctx context.Context, m *monitor.Monitor) error {
				s, err := m.Snapshot(ctx)
				if err != nil {
					return monitorError(err)
				}
				if f.jsonOut {
					return writeJSON(cmd.OutOrStdout(), s)
				}
				printStatus(cmd.OutOrStdout(), s)
				return nil
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the snapshot as one JSON document")
	return cmd
}

// printStatus writes the human-readable snapshot.
func printStatus(w io.Writer, s *monitor.Snapshot) {
	o := s.Outbox
	approx := ""
	if o.Estimated {
		approx = "≈"
	}
	fmt.Fprintf(w, "outbox   pending %s%d  locked %s%d  rejected pending %s%d\n", approx, o.Pending, approx, o.Locked, approx, o.RejectedPending)
	fmt.Fprintf(w, "age      oldest pending %s  oldest claimable %s\n", ageText(o.OldestPendingAgeSeconds, o.AgeSource), ageText(o.OldestClaimableAgeSeconds, o.ClaimableAgeSource))
	fmt.Fprintf(w, "ids      max %s  tombstone %s\n", idText(o.MaxSequenceID), idText(o.TombstoneSequenceID))
	if len(s.Indexes.Missing) > 0 {
		fmt.Fprintf(w, "indexes  missing %s (counts are estimates; `livesync-dev doctor` has the SQL)\n", strings.Join(s.Indexes.Missing, ", "))
	}
	trig := "present and correct"
	if !s.Trigger.Present {
		trig = "MISSING: " + s.Trigger.Detail
	} else if !s.Trigger.Correct {
		trig = "WRONG: " + s.Trigger.Detail
	}
	fmt.Fprintf(w, "trigger  %s\n", trig)
	fmt.Fprintf(w, "table    dead tuples %d  last autovacuum %s\n", s.Table.DeadTuples, timeText(s.Table.LastAutovacuum))
	if s.Rates.InsertPerSecond != nil {
		fmt.Fprintf(w, "rates    insert %.1f/s  publish %.1f/s (over %.0fs)\n", *s.Rates.InsertPerSecond, *s.Rates.PublishPerSecond, s.Rates.WindowSeconds)
	}
	fmt.Fprintf(w, "nodes    %d\n", len(s.Nodes))
	for _, n := range s.Nodes {
		state := "alive"
		if !n.Alive {
			state = "EXPIRED"
		}
		own := ""
		if n.Own {
			own = " (ours)"
		}
		fmt.Fprintf(w, "  %-36s %-7s expires in %6.0fs  rows locked %s%s\n", n.ID, state, n.ExpiresInSeconds, idText(n.RowsLocked), own)
	}
	if len(s.Channels) > 0 {
		fmt.Fprintf(w, "channels (largest backlog first)\n")
		for _, c := range s.Channels {
			fmt.Fprintf(w, "  %-30s pending %d  head %d\n", c.Channel, c.Pending, c.HeadSequenceID)
		}
	}
	fmt.Fprintf(w, "stuck    %d\n", len(s.Stuck)+s.StuckTruncated)
	for _, st := range s.Stuck {
		fmt.Fprintf(w, "  #%d %s [%s]: %s\n      → %s\n", st.SequenceID, st.Channel, st.Reason, st.Detail, st.Action)
	}
	for _, wn := range s.Warnings {
		where := ""
		if wn.SequenceID != nil {
			where = fmt.Sprintf(" #%d", *wn.SequenceID)
		}
		fmt.Fprintf(w, "warning  %s%s: %s\n", wn.Code, where, wn.Detail)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note     %s\n", n)
	}
}

func ageText(sec *float64, src string) string {
	if sec == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", (time.Duration(*sec) * time.Second).String(), src)
}

func idText(id *int64) string {
	if id == nil {
		return "-"
	}
	return fmt.Sprint(*id)
}

func timeText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}
