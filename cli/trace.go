package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/ablylocal/localdebug"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
)

func newOutboxTraceCommand() *cobra.Command {
	var f monitorFlags
	var q connector.JourneyQuery
	cmd := &cobra.Command{
		Use:   "trace (ID | --mutation ID)",
		Short: "Show what happened to one row, stage by stage, even after it left the table",
		Long: "Trace one outbox row (by sequence_id, or by mutation id with --mutation) through commit,\n" +
			"notification, claim (node, round), lock extensions, each publish attempt (ACK, or NACK with its\n" +
			"code) and completion, from the outbox and the journals of the live connector nodes\n" +
			"(connector.journalSize rows each); with the local endpoint, also when it accepted the message\n" +
			"and how many subscribers got it. One line per stage with the time since commit and since the\n" +
			"previous stage; the slowest is marked. A stuck row shows its diagnosis first.",
		Example: "  livesync-dev outbox trace 42\n  livesync-dev outbox trace --mutation 0b5a8e4e-2f4c-4c1e-9d7e-4d3f2c1b0a99 --json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id < 1 {
					return usageError("%q is not a row id: give a sequence_id (a positive integer) or --mutation ID", args[0])
				}
				q.SequenceID = id
			}
			if err := q.Validate(); err != nil {
				return usageError("%v: `outbox trace 42` or `outbox trace --mutation <mutation id>`", err)
			}
			st, err := monitorStack(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			m, closeDB, err := st.OpenMonitor(ctx, "livesync-dev trace", true)
			if err != nil {
				return stackError(err)
			}
			defer closeDB()
			j, err := m.RowJourney(ctx, monitor.JourneyParams{Query: q, Endpoint: endpointRecords(st)})
			if err != nil {
				return monitorError(err)
			}
			if f.jsonOut {
				if err := writeJSON(cmd.OutOrStdout(), j); err != nil {
					return err
				}
			}
			if !j.Found { // diagnostics on stderr, exit status 1
				return &ExitError{Code: 1, Err: errors.New(JourneyLines(j)[0])}
			}
			if !f.jsonOut {
				PrintJourney(cmd.OutOrStdout(), j)
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&q.MutationID, "mutation", "", "trace the row with this mutation_id (the newest one when several)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the journey as one JSON document")
	return cmd
}

// endpointRecords reads the local endpoint's debug route; nil for real Ably.
func endpointRecords(st *stack.Stack) monitor.EndpointRecords {
	ep, err := st.Endpoint(stack.EndpointParams{})
	if err != nil || ep.Local == nil || ep.Real {
		return nil
	}
	scheme := "http"
	if ep.Local.TLS {
		scheme = "https"
	}
	base := fmt.Sprintf("%s://%s:%d", scheme, ep.Local.Host, ep.Local.Port)
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context, channel, id string) ([]localdebug.MessageRecord, error) {
		r, err := localdebug.FetchMessages(ctx, client, base, ep.Key, channel, id)
		return r.Records, err
	}
}

// PrintJourney writes a journey as text: the row, the diagnosis of a
// stuck row, then one line per stage.
func PrintJourney(w io.Writer, j *monitor.Journey) {
	for _, l := range JourneyLines(j) {
		fmt.Fprintln(w, l)
	}
}

// JourneyLines renders a journey as plain lines (the command and the
// dashboard's journey view share them).
func JourneyLines(j *monitor.Journey) []string {
	if !j.Found {
		what := "row " + strconv.FormatInt(j.Query.SequenceID, 10)
		if j.Query.SequenceID == 0 {
			what = "mutation " + j.Query.MutationID
		}
		return []string{what + ": " + j.Message}
	}
	var out []string
	head := fmt.Sprintf("row %d on %s (name %s, mutation %s): %s", j.SequenceID, j.Channel, j.Name, j.MutationID, statusText(j.Status))
	if j.RejectHeader != "" {
		head += "; rejected (" + j.RejectHeader + ")"
	}
	out = append(out, head)
	if d := j.Diagnosis; d != nil {
		out = append(out, fmt.Sprintf("STUCK (%s): %s", d.Reason, d.Detail), "  fix: "+d.Action)
		if d.FixSQL != "" {
			out = append(out, "  sql: "+d.FixSQL)
		}
	}
	out = append(out, fmt.Sprintf("%-10s %-15s %10s %10s  %-8s %s", "STAGE", "TIME (UTC)", "+COMMIT", "DELTA", "NODE", "DETAIL"))
	for _, s := range j.Stages {
		since := "-"
		if s.SinceCommitMs != nil {
			since = fmtMs(*s.SinceCommitMs)
		}
		node := s.Node
		if len(node) > 8 {
			node = node[:8]
		}
		line := fmt.Sprintf("%-10s %-15s %10s %10s  %-8s %s", s.Stage, s.Time.Format("15:04:05.000000"), since, fmtMs(s.DeltaMs), node, s.Detail)
		if s.Slowest {
			line += "  <- slowest"
		}
		out = append(out, strings.TrimRight(line, " "))
	}
	if j.Delivered != nil {
		out = append(out, fmt.Sprintf("delivered to %d subscriber(s) by the local endpoint", *j.Delivered))
	}
	if len(j.Nodes) > 1 {
		out = append(out, "nodes: "+strings.Join(j.Nodes, ", "))
	}
	if len(j.OtherRows) > 0 {
		out = append(out, fmt.Sprintf("other rows with this mutation id: %v", j.OtherRows))
	}
	for _, n := range j.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

func statusText(s string) string {
	switch s {
	case "gone":
		return "gone from the outbox (deleted after publishing)"
	case "processed":
		return "processed (kept as the tombstone)"
	case "locked":
		return "in the outbox, locked by a node"
	case "pending":
		return "in the outbox, waiting"
	}
	return s
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}
