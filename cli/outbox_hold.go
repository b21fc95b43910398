package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/monitor"
)

func newOutboxHoldCommand() *cobra.Command {
	var f monitorFlags
	var seconds int
	cmd := &cobra.Command{
		Use:   "hold SEQUENCE_ID",
		Short: "Hold an outbox row's lock from an open transaction, as a long application transaction would",
		Long: "Take the row lock of one outbox row (SELECT ... FOR UPDATE in an open transaction) and keep it for\n" +
			"--seconds, or until Ctrl-C, then roll back. Nothing is changed. Meanwhile the connector skips the row and\n" +
			"its channel stops at it; `status` reports the row as row-locked and names this command's backend pid.",
		Example: "  livesync-dev outbox hold 42 --seconds 20",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError("%q is not a sequence id: pass a positive integer", args[0])
			}
			if seconds < 1 || seconds > 3600 {
				return usageError("--seconds %d is out of range: use 1-3600", seconds)
			}
			if f.readonly {
				return &ExitError{Code: 1, Err: monitor.ErrReadOnly}
			}
			d := time.Duration(seconds) * time.Second
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return withMonitor(cmd, f, d+30*time.Second, func(_ context.Context, m *monitor.Monitor) error {
				err := m.OutboxHold(ctx, monitor.OutboxHoldParams{SequenceID: id, Duration: d, OnHeld: func(pid int) {
					fmt.Fprintf(cmd.OutOrStdout(), "holding the lock of row %d from backend pid %d for %s (Ctrl-C releases it)\n", id, pid, d)
				}})
				if err != nil {
					return monitorError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "released row %d\n", id)
				return nil
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().IntVar(&seconds, "seconds", 30, "how long to hold the lock (1-3600)")
	return cmd
}
