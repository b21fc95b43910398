package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/internal/stack"
)

func init() { commands = append(commands, newFaultCommand) }

func newFaultCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "Inject faults into the local Ably endpoint: refuse, delay, drop",
		Long: "Manage fault rules of the sandbox's local Ably endpoint, to see what the connector and your\n" +
			"app do when Ably refuses a channel, acknowledges slowly or the network blips. Rules act on a\n" +
			"channel pattern (Ably capability syntax: 'demo:*' matches demo:x) and last until cleared\n" +
			"(or --for). They live in the endpoint: a restarted endpoint keeps only ably.local.faults.\n" +
			"Real Ably cannot be told to fail: these commands need the local endpoint.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("fault needs a subcommand: add, list or clear")
		},
	}
	cmd.AddCommand(newFaultAddCommand(), newFaultListCommand(), newFaultClearCommand())
	return cmd
}

// faultClient resolves the sandbox's local endpoint.
func faultClient(cmd *cobra.Command) (*ablylocal.FaultClient, error) {
	st, err := loadStack(cmd, nil)
	if err != nil {
		return nil, err
	}
	c, err := st.FaultClient(stack.EndpointParams{})
	if errors.Is(err, stack.ErrFaultsNeedLocal) {
		return nil, &ExitError{Code: 1, Err: err}
	}
	return c, stackError(err)
}

// faultCallError maps control-route errors: a refused rule is bad usage.
func faultCallError(err error) error {
	var fe *ablylocal.FaultError
	if errors.As(err, &fe) && fe.Code == 40000 {
		return &ExitError{Code: 2, Err: err}
	}
	return &ExitError{Code: 1, Err: err}
}

func newFaultAddCommand() *cobra.Command {
	var r fault.Rule
	var jsonOut bool
	var delayAck, every, refuseConns, forD time.Duration
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a fault rule: --code, --delay-ack, --drop, --refuse-connections or --rate",
		Long: "Add one fault rule on --channel (a channel or a pattern; default every channel), with exactly one\n" +
			"fault: --code N refuses publishes with Ably error N (40160 capability, 42913 rate limit, 50000 internal\n" +
			"error...; a permanent code blocks the row's channel until `outbox retry`); --delay-ack D holds each\n" +
			"ACK for D (later ACKs on the connection wait behind it); --drop cuts the connections using the channel,\n" +
			"once or --every D (SDKs resume); --refuse-connections D refuses new realtime connections for D (HTTP\n" +
			"503, error 80003); --rate N refuses publishes over N messages/s per channel with 42913. --for D removes\n" +
			"the rule after D.",
		Example: "  livesync-dev fault add --channel 'demo:*' --code 40160\n" +
			"  livesync-dev fault add --channel orders --delay-ack 2s --for 1m\n" +
			"  livesync-dev fault add --drop --every 10s\n" +
			"  livesync-dev fault add --refuse-connections 5s",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r.DelayAck, r.Every, r.For = fault.Duration(delayAck), fault.Duration(every), fault.Duration(forD)
			if refuseConns != 0 {
				if forD != 0 {
					return usageError("--refuse-connections already gives the rule's duration: drop --for")
				}
				r.RefuseConnections, r.For = true, fault.Duration(refuseConns)
			}
			if err := r.Validate(); err != nil {
				return usageError("%v", err)
			}
			c, err := faultClient(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			a, err := c.Add(ctx, r)
			if err != nil {
				return faultCallError(err)
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), a)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s: %s (%s); remove it with `livesync-dev fault clear %s`\n", a.ID, a.Rule, untilText(a), a.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&r.Channel, "channel", "*", "channel name or pattern the rule applies to ('demo:*')")
	fl.IntVar(&r.Code, "code", 0, "refuse publishes with this Ably error code")
	fl.DurationVar(&delayAck, "delay-ack", 0, "hold each ACK of a matching publish this long")
	fl.BoolVar(&r.Drop, "drop", false, "drop the connections using matching channels (once, or --every)")
	fl.DurationVar(&every, "every", 0, "with --drop: drop again at most this often")
	fl.DurationVar(&refuseConns, "refuse-connections", 0, "refuse new realtime connections for this long")
	fl.IntVar(&r.Rate, "rate", 0, "refuse publishes over this many messages/s per matching channel (42913)")
	fl.DurationVar(&forD, "for", 0, "remove the rule after this long (default: until cleared)")
	fl.BoolVar(&jsonOut, "json", false, "print the added rule as JSON")
	return cmd
}

func newFaultListCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the fault rules in force",
		Long:    "List the local endpoint's fault rules in force, with how often each struck (hits). --json prints\n{\"faults\": [{id, channel, code|delayAck|drop|every|refuseConnections|rate, for, added, expires, hits}]}.",
		Example: "  livesync-dev fault list\n  livesync-dev fault list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := faultClient(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			rules, err := c.List(ctx)
			if err != nil {
				return faultCallError(err)
			}
			if jsonOut {
				if rules == nil {
					rules = []fault.Active{}
				}
				return writeJSON(cmd.OutOrStdout(), fault.List{Faults: rules})
			}
			printFaults(cmd.OutOrStdout(), rules)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print {\"faults\": [...]} as JSON")
	return cmd
}

func newFaultClearCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "clear [ID]",
		Short:   "Remove one fault rule, or all of them",
		Long:    "Remove the fault rule ID (as `fault list` shows it), or every rule when no ID is given. Rows a\nrefuse rule blocked stay blocked until retried: run `livesync-dev outbox retry SEQUENCE_ID`.",
		Example: "  livesync-dev fault clear\n  livesync-dev fault clear f2",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			c, err := faultClient(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			n, err := c.Clear(ctx, id)
			if err != nil {
				return faultCallError(err)
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), ablylocal.Cleared{Cleared: n})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cleared %d fault rule(s)\n", n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print {\"cleared\": N} as JSON")
	return cmd
}

// untilText says how long a rule lasts.
func untilText(a fault.Active) string {
	if a.Expires == nil {
		return "until cleared"
	}
	return "until " + a.Expires.Format(time.RFC3339)
}

// printFaults writes the rules as a table.
func printFaults(w io.Writer, rules []fault.Active) {
	if len(rules) == 0 {
		fmt.Fprintln(w, "no fault rules in force")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRULE\tHITS\tLASTS")
	for _, a := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", a.ID, a.Rule, a.Hits, untilText(a))
	}
	_ = tw.Flush()
}
