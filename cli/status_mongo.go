package cli

import (
	"fmt"
	"io"

	"github.com/livesync-dev/livesync-dev/monitor"
)

// printStuckConnectors writes the connectors the monitor finds stuck (a
// Mongo change stream on 72008, 72007, 72006 or 72003), like stuck rows.
func printStuckConnectors(w io.Writer, stuck []monitor.StuckConnector) {
	if len(stuck) == 0 {
		return
	}
	fmt.Fprintf(w, "stuck connectors %d\n", len(stuck))
	for _, sc := range stuck {
		fmt.Fprintf(w, "  %s %s [%s]: %s\n      → %s\n", sc.Node, sc.Source, sc.Reason, sc.Detail, sc.Action)
		if sc.ErrorCode != 0 {
			fmt.Fprintf(w, "      error %d: %s\n", sc.ErrorCode, sc.ErrorMessage)
		}
	}
}

// statusLineMongo ends `up`'s headless status line with each stuck
// connector ("" when none is).
func statusLineMongo(snap *monitor.Snapshot) string {
	out := ""
	for _, sc := range snap.StuckConnectors {
		out += fmt.Sprintf("; %s stuck [%s] %d: %s", sc.Node, sc.Reason, sc.ErrorCode, sc.Action)
	}
	return out
}
