package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/livesync-dev/livesync-dev/monitor"
)

func init() { commands = append(commands, newDemoCommand) }

// demoOverrides shorten failover so the scenario fits a few minutes: a
// node's lease lapses 3 s after its last heartbeat, row locks after 4 s.
var demoOverrides = map[string]string{
	"connector.nodes": "2", "connector.heartbeatTimeout": "3s", "connector.lockTTL": "4s",
	"connector.safetyPoll": "1s", "connector.retry.max": "2s", "sandbox.mongo": "off",
}

func newDemoCommand() *cobra.Command {
	var headless bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A narrated scenario that shows LiveSync working, and what happens when things break",
		Long: "Bring a sandbox up in this folder with two connector nodes and run a scripted scenario: a writer\n" +
			"inserting at a steady rate over a few channels, messages reaching a subscriber, a node killed and\n" +
			"the other taking over, a rejected mutation, a poison row blocking only its channel and its fix, a\n" +
			"fault rule refusing a channel and its recovery, then a clean finish with nothing lost. Each step\n" +
			"is captioned; on a terminal Enter advances. With --headless it prints one line per step, never\n" +
			"waits, and exits 1 when a step's expectation fails, so it is a test too. The connector's lease and\n" +
			"lock TTL are shortened to 3 s and 4 s; the endpoint must be the local one.",
		Example: "  livesync-dev demo\n  livesync-dev demo --headless",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			overrides := map[string]string{}
			for k, v := range demoOverrides {
				overrides[k] = v
			}
			stk, err := loadStack(cmd, overrides)
			if err != nil {
				return err
			}
			if stk.Config.Ably.Key != "" || stk.Config.Postgres.URL != "" {
				return usageError("the demo runs on its own sandbox with the local endpoint: unset ABLY_API_KEY / ably.key and postgres.url")
			}
			logf, err := os.CreateTemp("", "livesync-demo-*.log")
			if err != nil {
				return err
			}
			defer logf.Close()
			interactive := !headless && term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
			out := cmd.OutOrStdout()
			fmt.Fprintln(cmd.ErrOrStderr(), "demo: bringing the sandbox up (connector log: "+logf.Name()+")")
			s, err := startStack(ctx, stk, upFlags{nodes: 2}, io.Discard, logf)
			if err != nil {
				return err
			}
			defer s.stop(cmd.ErrOrStderr())
			d := &demo{s: s, out: out, headless: headless, received: map[string][]monitor.TailMessage{}}
			if interactive {
				d.next = bufio.NewReader(cmd.InOrStdin())
			}
			err = d.run(ctx)
			if err == nil {
				defer os.Remove(logf.Name()) // kept only to explain a failure
			}
			var fe *demoFailure
			if errors.As(err, &fe) {
				fmt.Fprintf(cmd.ErrOrStderr(), "demo: the connector's log is in %s\n", logf.Name())
				return &ExitError{Code: 1, Err: err}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "print one line per step, never wait; exit 1 when a step's expectation fails")
	return cmd
}

// demo is a running scenario.
type demo struct {
	s        *upStack
	out      io.Writer
	headless bool
	next     *bufio.Reader // Enter advances; nil: no waiting

	mu       sync.Mutex
	received map[string][]monitor.TailMessage
}

// demoFailure is a step whose expectation failed.
type demoFailure struct {
	step int
	name string
	err  error
}

// Error implements error.
func (f *demoFailure) Error() string {
	return fmt.Sprintf("demo step %d (%s) failed: %v", f.step, f.name, f.err)
}

// demoStep is one captioned step: act does it and checks what should
// follow, within the step's deadline.
type demoStep struct {
	name    string
	caption string
	within  time.Duration
	act     func(ctx context.Context) (string, error)
}

// run plays every step, stopping at the first failure.
func (d *demo) run(ctx context.Context) error {
	go d.listen(ctx)
	steps := d.steps()
	for i, st := range steps {
		if !d.headless {
			fmt.Fprintf(d.out, "\n── step %d/%d: %s\n   %s\n", i+1, len(steps), st.name, st.caption)
		}
		sctx, cancel := context.WithTimeout(ctx, st.within)
		start := time.Now()
		result, err := st.act(sctx)
		cancel()
		took := time.Since(start).Round(100 * time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(d.out, "step %d/%d FAIL %s: %v (after %s)\n", i+1, len(steps), st.name, err, took)
			return &demoFailure{step: i + 1, name: st.name, err: err}
		}
		fmt.Fprintf(d.out, "step %d/%d ok   %s: %s (%s)\n", i+1, len(steps), st.name, result, took)
		if d.next != nil && i < len(steps)-1 {
			fmt.Fprint(d.out, "   press Enter for the next step")
			if _, err := d.next.ReadString('\n'); err != nil {
				d.next = nil
			}
		}
	}
	fmt.Fprintln(d.out, "demo finished: every step behaved as LiveSync promises")
	return nil
}

// listen records what the live tail receives.
func (d *demo) listen(ctx context.Context) {
	msgs := d.s.tail.Messages()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			d.mu.Lock()
			d.received[m.Channel] = append(d.received[m.Channel], m)
			d.mu.Unlock()
		}
	}
}

// await polls cond every 100 ms until it holds or ctx ends.
func await(ctx context.Context, what string, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not seen in time", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
