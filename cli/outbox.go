package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/livesync-dev/livesync-dev/monitor"
)

func init() { commands = append(commands, newOutboxCommand) }

func newOutboxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "List, retry, delete or trace outbox rows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("outbox needs a subcommand: list, retry, delete, trace or hold")
		},
	}
	cmd.AddCommand(newOutboxListCommand(), newOutboxActionCommand("retry"), newOutboxActionCommand("delete"), newOutboxTraceCommand(),
		newOutboxHoldCommand())
	return cmd
}

func newOutboxListCommand() *cobra.Command {
	var f monitorFlags
	var pending, stuck, rejected bool
	var p monitor.OutboxListParams
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List outbox rows in sequence_id order, one page at a time",
		Long: "List outbox rows with sequence_id > --after, at most --limit of them. Filters:\n" +
			"--pending (not processed), --stuck (rows not moving, each with the reason and the fix, as in\n" +
			"`status`), " +
			"--rejected (rejected and not processed); at most one. Next page: --after <last sequenceId>.",
		Example: "  livesync-dev outbox list --pending --channel orders --limit 20\n  livesync-dev outbox list --rejected --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for flag, on := range map[monitor.Filter]bool{monitor.PendingRows: pending, monitor.StuckRows: stuck, monitor.RejectedRows: rejected} {
				if on {
					p.Filter = flag
					n++
				}
			}
			if n > 1 {
				return usageError("--pending, --stuck and --rejected are mutually exclusive: pass at most one")
			}
			if p.Limit < 1 || p.Limit > 1000 {
				return usageError("--limit %d is out of range: use 1-1000 (page on with --after)", p.Limit)
			}
			if p.After < 0 {
				return usageError("--after must not be negative")
			}
			return withMonitor(cmd, f, 30*time.Second, func(ctx context.Context, m *monitor.Monitor) error {
				rows, err := m.OutboxList(ctx, p)
				if err != nil {
					return monitorError(err)
				}
				if f.jsonOut {
					return writeJSON(cmd.OutOrStdout(), rows)
				}
				printRows(cmd.OutOrStdout(), rows)
				return nil
			})
		},
	}
	f.register(cmd, false)
	fl := cmd.Flags()
	fl.BoolVar(&pending, "pending", false, "only rows not processed")
	fl.BoolVar(&stuck, "stuck", false, "only rows that are not moving, with the diagnosis (reason, detail, action) of each")
	fl.BoolVar(&rejected, "rejected", false, "only rejected rows not yet processed")
	fl.StringVar(&p.Channel, "channel", "", "only rows of this channel")
	fl.StringVar(&p.Text, "text", "", "only rows whose channel, name, mutation id, data or headers contain this text")
	fl.IntVar(&p.Limit, "limit", 100, "at most this many rows (1-1000)")
	fl.Int64Var(&p.After, "after", 0, "only rows with sequence_id greater than this (keyset paging)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the rows as one JSON array")
	return cmd
}

// printRows writes rows as a plain table.
func printRows(w io.Writer, rows []monitor.Row) {
	fmt.Fprintf(w, "%-10s %-20s %-16s %-8s %-24s %s\n", "SEQ", "CHANNEL", "NAME", "STATE", "LOCK", "DATA")
	for _, r := range rows {
		state := "pending"
		switch {
		case r.Processed:
			state = "done"
		case r.Rejected:
			state = "rejected"
		}
		lock := "-"
		if r.LockedBy != nil && r.LockExpiry != nil {
			lock = *r.LockedBy + " until " + r.LockExpiry.Format("15:04:05Z")
		}
		data := string(r.Data)
		if len(data) > 60 {
			data = data[:57] + "..."
		}
		if r.Diagnosis != nil {
			state = string(r.Diagnosis.Reason)
		}
		fmt.Fprintf(w, "%-10d %-20s %-16s %-8s %-24s %s\n", r.SequenceID, r.Channel, r.Name, state, lock, data)
		if d := r.Diagnosis; d != nil {
			fmt.Fprintf(w, "           %s\n           → %s\n", d.Detail, d.Action)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "(no rows)")
	}
}

func newOutboxActionCommand(action string) *cobra.Command {
	var f monitorFlags
	var yes, force bool
	short := map[string]string{
		"retry":  "Clear the lock of outbox rows so a live node claims them again",
		"delete": "Delete outbox rows",
	}[action]
	cmd := &cobra.Command{
		Use:   action + " SEQUENCE_ID...",
		Short: short,
		Long: short + ", in one transaction. The SQL is shown first; without --yes it asks on a terminal\n" +
			"and refuses elsewhere. A retry leaves rows a live node holds alone (it is publishing them; --force\n" +
			"frees them anyway). Delete of the processed tombstone row is refused unless --force (sync\n" +
			"endpoints read MAX(sequence_id)).\n" +
			"A missing id fails the whole action (exit status 1) and nothing changes.",
		Example: fmt.Sprintf("  livesync-dev outbox %s 42 43 --yes", action),
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := monitor.OutboxActionParams{Force: force}
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil || id <= 0 {
					return usageError("%q is not a sequence id: pass positive integers", a)
				}
				p.IDs = append(p.IDs, id)
			}
			if f.readonly {
				return &ExitError{Code: 1, Err: monitor.ErrReadOnly}
			}
			return withMonitor(cmd, f, 60*time.Second, func(ctx context.Context, m *monitor.Monitor) error {
				sql, err := m.OutboxActionSQL(action, p)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "will run, in one transaction:\n  %s\n", sql)
				if !yes {
					if err := confirm(cmd, action, len(p.IDs)); err != nil {
						return err
					}
				}
				var res monitor.ActionResult
				if action == "retry" {
					res, err = m.OutboxRetry(ctx, p)
				} else {
					res, err = m.OutboxDelete(ctx, p)
				}
				if err != nil {
					return monitorError(err)
				}
				verb := map[string]string{"retry": "freed", "delete": "deleted"}[action]
				if len(res.SequenceIDs) > 0 || len(res.Claimed) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %d row(s): %s\n", verb, len(res.SequenceIDs), joinIDs(res.SequenceIDs))
				}
				for _, id := range res.Claimed {
					fmt.Fprintf(cmd.OutOrStdout(), "row %d is already claimed by a live node, which is publishing it now: left alone (--force frees the lock anyway, at the risk of publishing it twice)\n", id)
				}
				for _, st := range res.Unblocked {
					fmt.Fprintf(cmd.OutOrStdout(), "row %d had stopped channel %s (%s, Ably error %d): the connector tries it again now (it re-checks blocked rows at every heartbeat)\n",
						st.SequenceID, st.Channel, st.Reason, st.ErrorCode)
				}
				return nil
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&force, "force", false, "override the safety refusals (live lock, tombstone)")
	return cmd
}

// confirm asks on a terminal; elsewhere it refuses and says to pass --yes.
func confirm(cmd *cobra.Command, action string, n int) error {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return &ExitError{Code: 1, Err: fmt.Errorf("not a terminal, so cannot ask: pass --yes to %s %d row(s)", action, n)}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s %d row(s)? [y/N] ", action, n)
	line, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return &ExitError{Code: 1, Err: fmt.Errorf("%s cancelled: nothing was changed", action)}
	}
	return nil
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}
