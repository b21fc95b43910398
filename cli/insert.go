package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/monitor"
)

func init() { commands = append(commands, newInsertCommand) }

func newInsertCommand() *cobra.Command {
	var f monitorFlags
	var p monitor.OutboxInsertParams
	var data, headers string
	var mongo bool
	var mf mongoInsertFlags
	cmd := &cobra.Command{
		Use:   "insert",
		Short: "Write test events into the outbox, as an application would",
		Long: "Insert --count rows (default 1) into the outbox in one transaction and one INSERT (one NOTIFY).\n" +
			"--data and --headers are validated as JSON before anything is written; --data @file reads a file.\n" +
			"Each row gets a new UUID mutation id unless --mutation-id is given; the ids used are printed, so\n" +
			"`outbox trace --mutation ID` can follow the row after it left the table. --rejected writes a\n" +
			"rejection of the client's optimistic mutation (application data, published like any row).",
		Example: "  livesync-dev insert --channel orders --name created --data '{\"id\":1}'\n" +
			"  livesync-dev insert --channel orders --name created --data @event.json --count 100 --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mongo {
				return runInsertMongo(cmd, mf, f, data, p.Count)
			}
			if p.Channel == "" || p.Name == "" {
				return usageError("insert needs --channel and --name")
			}
			if p.Count < 1 || p.Count > 100000 {
				return usageError("--count %d is out of range: use 1-100000", p.Count)
			}
			if cmd.Flags().Changed("data") {
				b, err := readData(data)
				if err != nil {
					return usageError("%v", err)
				}
				p.Data = b
			}
			if cmd.Flags().Changed("headers") {
				p.Headers = json.RawMessage(headers)
			}
			if err := p.Validate(); err != nil {
				return usageError("%v", err)
			}
			if f.readonly {
				return &ExitError{Code: 1, Err: monitor.ErrReadOnly}
			}
			return withMonitor(cmd, f, 2*time.Minute, func(ctx context.Context, m *monitor.Monitor) error {
				rows, err := m.OutboxInsertRows(ctx, p)
				if err != nil {
					return monitorError(err)
				}
				return printInserted(cmd.OutOrStdout(), f.jsonOut, p, rows)
			})
		},
	}
	f.register(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&p.Channel, "channel", "", "Ably channel (required)")
	fl.StringVar(&p.Name, "name", "", "message name (required)")
	fl.StringVar(&data, "data", "", "JSON payload, or @FILE to read it from a file (absent: SQL NULL)")
	fl.StringVar(&headers, "headers", "", "JSON object of headers: flat, values strings, numbers, booleans or null (Ably refuses nested values)")
	fl.StringVar(&p.MutationID, "mutation-id", "", "mutation id for every row (default: a new UUID per row)")
	fl.BoolVar(&p.Rejected, "rejected", false, "write rejected = true (the backend refusing the client's mutation)")
	fl.IntVar(&p.Count, "count", 1, "how many rows, in one transaction")
	fl.BoolVar(&mongo, "mongo", false, "write to the watched MongoDB collection instead (insert, or --update/--delete ID)")
	mf.register(cmd)
	fl.BoolVar(&f.jsonOut, "json", false, `print {"sequenceIds":[...],"mutationIds":[...]} (the same order)`)
	return cmd
}

// insertedDoc is insert's --json output: sequenceIds[i] was written with
// mutationIds[i].
type insertedDoc struct {
	SequenceIDs []int64  `json:"sequenceIds"`
	MutationIDs []string `json:"mutationIds"`
}

// printInserted reports the rows written: their ids and the mutation ids
// used (one line each for up to 10 rows with their own UUIDs), and how to
// trace one.
func printInserted(w io.Writer, jsonOut bool, p monitor.OutboxInsertParams, rows []monitor.InsertedRow) error {
	doc := insertedDoc{SequenceIDs: make([]int64, len(rows)), MutationIDs: make([]string, len(rows))}
	for i, r := range rows {
		doc.SequenceIDs[i], doc.MutationIDs[i] = r.SequenceID, r.MutationID
	}
	if jsonOut {
		return writeJSON(w, doc)
	}
	fmt.Fprintf(w, "inserted %d row(s) on %s: %s\n", len(rows), p.Channel, idRange(doc.SequenceIDs))
	if len(rows) == 0 {
		return nil
	}
	switch {
	case p.MutationID != "" || len(rows) == 1:
		fmt.Fprintf(w, "mutation id %s\n", rows[0].MutationID)
	case len(rows) <= 10:
		for _, r := range rows {
			fmt.Fprintf(w, "  row %d: mutation id %s\n", r.SequenceID, r.MutationID)
		}
	default:
		fmt.Fprintf(w, "mutation ids: a new UUID per row, %s (row %d) … %s (row %d); --json lists them all\n",
			rows[0].MutationID, rows[0].SequenceID, rows[len(rows)-1].MutationID, rows[len(rows)-1].SequenceID)
	}
	fmt.Fprintf(w, "trace it: livesync-dev outbox trace --mutation %s\n", rows[len(rows)-1].MutationID)
	return nil
}

// readData returns the --data value, reading @file.
func readData(v string) (json.RawMessage, error) {
	if !strings.HasPrefix(v, "@") {
		return json.RawMessage(v), nil
	}
	b, err := os.ReadFile(v[1:])
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", v, err)
	}
	return b, nil
}

// idRange shows ids compactly: "7" or "7-106".
func idRange(ids []int64) string {
	if len(ids) == 0 {
		return "-"
	}
	if len(ids) == 1 || ids[len(ids)-1]-ids[0] != int64(len(ids)-1) {
		if len(ids) <= 10 {
			return joinIDs(ids)
		}
	}
	return fmt.Sprintf("%d-%d", ids[0], ids[len(ids)-1])
}
