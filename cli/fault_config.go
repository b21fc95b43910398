package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// applyConfigFaults puts ably.local.faults in force on an endpoint `sandbox
// up` found already running; problems are warnings (the sandbox is up).
func applyConfigFaults(ctx context.Context, cmd *cobra.Command, stk *stack.Stack, st *sandbox.State) {
	if stk == nil {
		return
	}
	stk.Sandbox = st
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := stk.ApplyConfigFaults(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: ably.local.faults not applied: %v\n", err)
	case n > 0:
		fmt.Fprintf(cmd.ErrOrStderr(), "ably.local.faults: %d rule(s) put in force on the running endpoint (`livesync-dev fault list`)\n", n)
	}
}
