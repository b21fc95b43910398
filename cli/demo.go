package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui"
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
	var stepPause time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A narrated scenario that shows LiveSync working, and what happens when things break",
		Long: "Bring a sandbox up in this folder with two connector nodes and run a scripted scenario: a writer\n" +
			"inserting at a steady rate over a few channels, messages reaching a subscriber, a node killed and\n" +
			"the other taking over, a rejected mutation, a poison row blocking only its channel and its fix, a\n" +
			"fault rule refusing a channel and its recovery, then a clean finish with nothing lost. On a\n" +
			"terminal it runs in the dashboard: each step is a caption above the panels, n goes on to the next\n" +
			"step once one has passed (or it goes on by itself after --step-pause), and q quits and takes the\n" +
			"sandbox down. With --headless (or without a terminal) it prints one line per step, never waits, and\n" +
			"exits 1 when a step's expectation fails, so it is a test too. The connector's lease and lock TTL\n" +
			"are shortened to 3 s and 4 s; the endpoint must be the local one.",
		Example: "  livesync-dev demo\n  livesync-dev demo --step-pause 0\n  livesync-dev demo --headless",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stepPause < 0 {
				return usageError("--step-pause %s: give 0 (wait for the key) or a positive duration such as 20s", stepPause)
			}
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
			if err := tui.ValidateConfig(stk.Config.Dashboard); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			logf, err := os.CreateTemp("", "livesync-demo-*.log")
			if err != nil {
				return err
			}
			defer logf.Close()
			if screen, ok := demoTerminal(headless); ok {
				err = runDemoDashboard(ctx, cmd, stk, logf, screen, stepPause)
			} else {
				err = runDemoText(ctx, cmd, stk, logf, headless)
			}
			var fe *demoFailure
			if errors.As(err, &fe) {
				fmt.Fprintf(cmd.ErrOrStderr(), "demo: the connector's log is in %s\n", logf.Name())
				return &ExitError{Code: 1, Err: err}
			}
			if err == nil {
				os.Remove(logf.Name()) // kept only to explain a failure
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "print one line per step, never wait; exit 1 when a step's expectation fails")
	cmd.Flags().DurationVar(&stepPause, "step-pause", 20*time.Second, "in the dashboard: go on to the next step by itself after this pause (0: wait for the n key)")
	return cmd
}

// demoTerminal says whether the demo runs in the dashboard, and on which
// screen (nil: the terminal): on a terminal, unless --headless. Tests
// replace it to run the dashboard on a simulation screen.
var demoTerminal = func(headless bool) (tcell.Screen, bool) {
	return nil, !headless && term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

// runDemoText plays the script in plain text: captions and one line per
// step (--headless: only the step lines), never waiting.
func runDemoText(ctx context.Context, cmd *cobra.Command, stk *stack.Stack, logf *os.File, headless bool) error {
	fmt.Fprintln(cmd.ErrOrStderr(), "demo: bringing the sandbox up (connector log: "+logf.Name()+")")
	s, err := startStack(ctx, stk, upFlags{nodes: 2}, io.Discard, logf)
	if err != nil {
		return err
	}
	defer s.stop(cmd.ErrOrStderr())
	d := newDemo(s, &textNarrator{out: cmd.OutOrStdout(), headless: headless})
	return d.run(ctx)
}

// demo is a running scenario.
type demo struct {
	s        *upStack
	narrator demoNarrator
	// feed, when set, receives a copy of every message the tail delivers
	// (the dashboard's tail, since the demo reads the tail itself).
	feed chan monitor.TailMessage

	mu       sync.Mutex
	received map[string][]monitor.TailMessage
	writer   *demoWriter
}

// newDemo returns a scenario over a running stack, told by n.
func newDemo(s *upStack, n demoNarrator) *demo {
	return &demo{s: s, narrator: n, received: map[string][]monitor.TailMessage{}}
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

// demoNarrator tells the script: in plain text (textNarrator) or in the
// dashboard's caption (dashNarrator). i counts steps from 1 to n.
type demoNarrator interface {
	// begin announces a step.
	begin(i, n int, st demoStep)
	// passed reports a step that did what it should.
	passed(i, n int, st demoStep, result string, took time.Duration)
	// failed reports a step whose expectation failed; the script stops.
	failed(i, n int, st demoStep, err error, took time.Duration)
	// between waits before the next step; an error stops the script.
	between(ctx context.Context) error
	// finished reports that every step passed.
	finished()
}

// run plays every step, stopping at the first failure.
func (d *demo) run(ctx context.Context) error {
	go d.listen(ctx)
	defer d.stopWriter()
	steps := d.steps()
	for i, st := range steps {
		d.narrator.begin(i+1, len(steps), st)
		sctx, cancel := context.WithTimeout(ctx, st.within)
		start := time.Now()
		result, err := st.act(sctx)
		cancel()
		took := time.Since(start).Round(100 * time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			d.narrator.failed(i+1, len(steps), st, err, took)
			return &demoFailure{step: i + 1, name: st.name, err: err}
		}
		d.narrator.passed(i+1, len(steps), st, result, took)
		if i < len(steps)-1 {
			if err := d.narrator.between(ctx); err != nil {
				return err
			}
		}
	}
	d.narrator.finished()
	return nil
}

// stopWriter stops the writer if it runs (the finish step stops it; a
// failure or a quit leaves it to this).
func (d *demo) stopWriter() {
	d.mu.Lock()
	w := d.writer
	d.mu.Unlock()
	if w != nil {
		w.stop()
		<-w.done
	}
}

// textNarrator prints the script: the captions unless headless, one line
// per step, and the finish.
type textNarrator struct {
	out      io.Writer
	headless bool
}

func (t *textNarrator) begin(i, n int, st demoStep) {
	if !t.headless {
		fmt.Fprintf(t.out, "\n── step %d/%d: %s\n   %s\n", i, n, st.name, st.caption)
	}
}

func (t *textNarrator) passed(i, n int, st demoStep, result string, took time.Duration) {
	fmt.Fprintf(t.out, "step %d/%d ok   %s: %s (%s)\n", i, n, st.name, result, took)
}

func (t *textNarrator) failed(i, n int, st demoStep, err error, took time.Duration) {
	fmt.Fprintf(t.out, "step %d/%d FAIL %s: %v (after %s)\n", i, n, st.name, err, took)
}

func (t *textNarrator) between(context.Context) error { return nil }

func (t *textNarrator) finished() {
	fmt.Fprintln(t.out, "demo finished: every step behaved as LiveSync promises")
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
			if d.feed != nil {
				select {
				case d.feed <- m:
				default: // a slow dashboard drops messages, as the tail does
				}
			}
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
