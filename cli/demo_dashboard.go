package cli

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui"
	"github.com/livesync-dev/livesync-dev/tui/model"
	"github.com/livesync-dev/livesync-dev/tui/source"
)

// runDemoDashboard plays the script in the dashboard `up` shows, over the
// demo's sandbox: the sandbox comes up behind the progress screen, each
// step is a caption above the panels, and the advance key (or the pause)
// goes on to the next. After the last step, or a failed one, the dashboard
// stays until the user quits; quitting stops the script and takes the
// sandbox down. A failed step is returned (as a *demoFailure) once the
// terminal is restored.
func runDemoDashboard(ctx context.Context, cmd *cobra.Command, stk *stack.Stack, logf *os.File, screen tcell.Screen, pause time.Duration) error {
	cfg := stk.Config
	narration := model.NewNarration()
	scriptCtx, stopScript := context.WithCancel(ctx)
	defer stopScript()
	var started atomic.Pointer[upStack]
	script := make(chan error, 1)
	dash := tui.New(tui.Options{
		Config:    cfg.Dashboard,
		Readonly:  cfg.Dashboard.Readonly,
		Screen:    screen,
		Narration: narration,
		Startup: func(ctx context.Context, progress func(string)) (tui.Source, error) {
			progress("demo: the connector's log goes to " + logf.Name())
			s, err := startStack(ctx, stk, upFlags{nodes: 2}, tui.ProgressWriter(progress), logf)
			if err != nil {
				return nil, err // startStack stopped what it had started
			}
			started.Store(s)
			d := newDemo(s, &dashNarrator{n: narration, pause: pause})
			d.feed = make(chan monitor.TailMessage, 4096)
			go func() { script <- d.run(scriptCtx) }()
			return &demoSource{Source: upSource(ctx, s, cfg), msgs: d.feed}, nil
		},
	})
	err := dash.Run(ctx)
	stopScript()
	s := started.Load()
	var scriptErr error
	if s != nil {
		scriptErr = <-script
		s.stop(cmd.ErrOrStderr())
	}
	switch {
	case errors.Is(err, tui.ErrInterrupted):
		return nil
	case err != nil:
		return err
	}
	var fe *demoFailure
	if errors.As(scriptErr, &fe) {
		return scriptErr
	}
	return nil // finished, or the user quit before the end
}

// demoSource is the dashboard's source with the tail's messages as the
// demo forwards them (the demo reads the tail itself, to check them).
type demoSource struct {
	*source.Source
	msgs chan monitor.TailMessage
}

// TailMessages implements model.Source.
func (s *demoSource) TailMessages() <-chan monitor.TailMessage { return s.msgs }

// dashNarrator shows the script in the dashboard's caption and waits for
// the advance key, or pause (0: the key only), between steps.
type dashNarrator struct {
	n     *model.Narration
	pause time.Duration
	last  model.Caption
}

func (t *dashNarrator) show(c model.Caption) {
	t.last = c
	t.n.Show(c)
}

func (t *dashNarrator) begin(i, n int, st demoStep) {
	t.show(model.Caption{Step: i, Total: n, Name: st.name, Text: st.caption, Status: model.StepRunning})
}

func (t *dashNarrator) passed(i, n int, st demoStep, result string, took time.Duration) {
	t.show(model.Caption{Step: i, Total: n, Name: st.name, Text: st.caption, Status: model.StepOK, Result: result, Took: took})
}

func (t *dashNarrator) failed(i, n int, st demoStep, err error, took time.Duration) {
	t.show(model.Caption{Step: i, Total: n, Name: st.name, Text: st.caption, Status: model.StepFailed, Result: err.Error(), Took: took})
}

func (t *dashNarrator) between(ctx context.Context) error { return t.n.Wait(ctx, t.pause) }

func (t *dashNarrator) finished() {
	c := t.last
	c.Finished, c.Waiting = true, false
	t.show(c)
}
