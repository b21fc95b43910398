package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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
	return localEndpointRecords(ep.Local.Host, ep.Local.Port, ep.Local.TLS, ep.Key)
}

// localEndpointRecords reads the debug route of the local endpoint at
// host:port with key.
func localEndpointRecords(host string, port int, tls bool, key string) monitor.EndpointRecords {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	base := fmt.Sprintf("%s://%s:%d", scheme, host, port)
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context, channel, id string) ([]localdebug.MessageRecord, error) {
		r, err := localdebug.FetchMessages(ctx, client, base, key, channel, id)
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

// JourneyLines renders a journey as plain lines (monitor's rendering,
// which the dashboard's journey view shares).
func JourneyLines(j *monitor.Journey) []string {
	ls := j.Lines()
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Text
	}
	return out
}
