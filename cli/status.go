package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
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
	cmd.Flags().StringVar(&f.pgURL, "pg-url", "", "Postgres URL of the outbox (default: postgres.url / $LIVESYNC_POSTGRES_URL, else the sandbox's)")
	if writes {
		cmd.Flags().BoolVar(&f.readonly, "readonly", false, "refuse every write (for shared databases)")
	}
}

// monitorStack loads the stack for a monitor command: --pg-url overrides
// postgres.url.
func monitorStack(cmd *cobra.Command) (*stack.Stack, error) {
	overrides := map[string]string{}
	changed(cmd, overrides, "pg-url", "postgres.url")
	return loadStack(cmd, overrides)
}

// withMonitor builds the stack and its monitor for one command, runs fn
// within timeout and closes the database; monitor errors get their exit
// status and advice.
func withMonitor(cmd *cobra.Command, f monitorFlags, timeout time.Duration, fn func(context.Context, *monitor.Monitor) error) error {
	st, err := monitorStack(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	m, closeDB, err := st.OpenMonitor(ctx, "livesync-dev monitor", f.readonly)
	if err != nil {
		return stackError(err)
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
	fmt.Fprintf(w, "outbox   pending %s  locked %s  rejected pending %s\n", countText(o.Pending, o.Estimated, o.PendingAtLeast),
		countText(o.Locked, o.Estimated, o.LockedAtLeast), countText(o.RejectedPending, o.Estimated, o.RejectedPendingAtLeast))
	fmt.Fprintf(w, "age      oldest pending %s  oldest claimable %s\n", ageText(o.OldestPendingAgeSeconds, o.AgeSource), ageText(o.OldestClaimableAgeSeconds, o.ClaimableAgeSource))
	fmt.Fprintf(w, "ids      max %s  tombstone %s\n", idText(o.MaxSequenceID), idText(o.TombstoneSequenceID))
	for _, f := range s.Faults {
		fmt.Fprintf(w, "FAULT    %s: %s (hits %d; `livesync-dev fault clear %s` removes it)\n", f.ID, f.Rule, f.Hits, f.ID)
	}
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
		if st.FixSQL != "" {
			fmt.Fprintf(w, "      SQL: %s\n", st.FixSQL)
		}
	}
	printStuckConnectors(w, s.StuckConnectors)
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

// countText renders a backlog count: "≈1234" for a planner estimate,
// "≥10000" for a count that stopped at the cap, else the exact figure.
func countText(n int64, estimated, atLeast bool) string {
	switch {
	case estimated:
		return fmt.Sprintf("≈%d", n)
	case atLeast:
		return fmt.Sprintf("≥%d", n)
	}
	return fmt.Sprint(n)
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
