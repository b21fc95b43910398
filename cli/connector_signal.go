package cli

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/internal/stack"
)

// nodeSignals are the fault commands on our own side: what each does to a
// node's process and what the user sees next.
var nodeSignals = []struct {
	use, short, long string
	sig              syscall.Signal
	done             string
}{
	{"kill", "SIGKILL a connector node's process, as a crash would",
		"Send SIGKILL to the process of a connector node this sandbox runs (as `connector run` registered it\n" +
			"under .livesync/nodes). Its nodes stop at once, without releasing anything: their lease in the nodes\n" +
			"table lapses after connector.heartbeatTimeout, then another node takes their channels once the row\n" +
			"locks expire (connector.lockTTL). Every node of that process dies with it.",
		syscall.SIGKILL, "killed: its lease lapses within connector.heartbeatTimeout, then a live node takes over its channels once their locks expire"},
	{"pause", "SIGSTOP a connector node's process (resume with `connector resume`)",
		"Send SIGSTOP to the process of a connector node this sandbox runs: it freezes mid-work, as a long GC\n" +
			"pause or a debugger would. Paused longer than its lease, another node takes over; on resume it must\n" +
			"not publish rows it no longer owns.",
		syscall.SIGSTOP, "paused: `livesync-dev connector resume` continues it"},
	{"resume", "SIGCONT a paused connector node's process",
		"Send SIGCONT to the process of a connector node this sandbox runs, ending a `connector pause`.",
		syscall.SIGCONT, "resumed"},
}

// newConnectorSignalCommands builds connector kill, pause and resume.
func newConnectorSignalCommands() []*cobra.Command {
	var out []*cobra.Command
	for _, ns := range nodeSignals {
		cmd := &cobra.Command{
			Use:     ns.use + " NODE",
			Short:   ns.short,
			Long:    ns.long + "\nNODE is a node id or a unique prefix of one (`livesync-dev status` lists them).",
			Example: "  livesync-dev connector " + ns.use + " 3f2a",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				st, err := loadStack(cmd, nil)
				if err != nil {
					return err
				}
				np, err := st.FindNode(args[0])
				if err != nil {
					if errors.Is(err, stack.ErrNoNodes) {
						return &ExitError{Code: 1, Err: err}
					}
					return usageError("%v", err)
				}
				if err := st.SignalNode(np, ns.sig); err != nil {
					return &ExitError{Code: 1, Err: err}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "node %s (pid %d) %s\n", np.Node.ID, np.Node.PID, ns.done)
				if len(np.Siblings) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "the same process also runs node(s) %s: they were %s too\n", strings.Join(np.Siblings, ", "), ns.use+map[bool]string{true: "ed", false: "d"}[ns.use == "kill"])
				}
				return nil
			},
		}
		out = append(out, cmd)
	}
	return out
}
