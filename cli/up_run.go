package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
	"github.com/livesync-dev/livesync-dev/tui"
	"github.com/livesync-dev/livesync-dev/tui/source"
)

// runHeadless runs the stack and prints one status line per refresh period
// until ctx ends.
func runHeadless(ctx context.Context, cmd *cobra.Command, stk *stack.Stack, f upFlags) error {
	errw := cmd.ErrOrStderr()
	cfg := stk.Config
	s, err := startStack(ctx, stk, f, errw, errw)
	if err != nil {
		return err
	}
	defer s.stop(errw)
	if err := printState(cmd, s.st, false); err != nil {
		return err
	}
	fmt.Fprintln(errw, "up: running; press Ctrl-C to stop")
	period := cfg.Dashboard.Refresh
	if period < time.Second {
		period = time.Second
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			line := statusLine(ctx, s.mon)
			if line != last {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", time.Now().UTC().Format(time.TimeOnly), line)
				last = line
			}
		}
	}
}

// statusLine is one headless status line.
func statusLine(ctx context.Context, mon *monitor.Monitor) string {
	snap, err := mon.Snapshot(ctx)
	if err != nil {
		return fmt.Sprintf("status: %v", err)
	}
	alive := 0
	for _, n := range snap.Nodes {
		if n.Alive {
			alive++
		}
	}
	age := "-"
	if snap.Outbox.OldestPendingAgeSeconds != nil {
		age = fmt.Sprintf("%.1fs", *snap.Outbox.OldestPendingAgeSeconds)
	}
	o := snap.Outbox
	return fmt.Sprintf("pending %s (rejected %s, locked %s), oldest %s, stuck %d, nodes %d/%d alive, warnings %d",
		countText(o.Pending, o.Estimated, o.PendingAtLeast), countText(o.RejectedPending, o.Estimated, o.RejectedPendingAtLeast),
		countText(o.Locked, o.Estimated, o.LockedAtLeast), age, len(snap.Stuck), alive, len(snap.Nodes), len(snap.Warnings)) + statusLineMongo(snap)
}

// runDashboard shows the tview dashboard; the stack starts behind a progress
// screen and everything it started stops when the user quits.
func runDashboard(ctx context.Context, cmd *cobra.Command, stk *stack.Stack, overrides map[string]string, f upFlags) error {
	cfg := stk.Config
	if err := tui.ValidateConfig(cfg.Dashboard); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	project, err := sandbox.Find(".")
	if err != nil {
		project = "."
	}
	logPath := filepath.Join(project, sandbox.DirName, "up.log")
	var stackPtr atomic.Pointer[upStack]
	external := cfg.Postgres.URL != ""
	dash := tui.New(tui.Options{
		Config:   cfg.Dashboard,
		Readonly: cfg.Dashboard.Readonly || (external && !f.allowWrites),
		External: external,
		Startup: func(ctx context.Context, progress func(string)) (tui.Source, error) {
			logw, err := openLog(logPath)
			if err != nil {
				return nil, err
			}
			s, err := startStack(ctx, stk, f, tui.ProgressWriter(progress), logw)
			if err != nil {
				return nil, err
			}
			stackPtr.Store(s)
			return upSource(ctx, s, cfg), nil
		},
	})
	file := configFileFlag(cmd)
	go func() {
		current := cfg
		_ = config.Watch(ctx, config.Source{File: file, Env: os.Environ(), Flags: overrides}, 0, func(next *config.Config, err error) {
			dash.OnConfig(next, err)
			if stack := stackPtr.Load(); err == nil && stack != nil && connectorChanged(current, next) {
				if rerr := stack.restartConnector(ctx, next); rerr != nil {
					dash.ShowConfigError(fmt.Errorf("connector settings not applied: %w", rerr))
					return
				}
				current = next
			}
		})
	}()
	err = dash.Run(ctx)
	errw := cmd.ErrOrStderr()
	if stack := stackPtr.Load(); stack != nil {
		stack.stop(errw)
	}
	if err == tui.ErrInterrupted {
		return nil
	}
	return err
}

// upSource is the dashboard's data source over a running stack, until ctx
// ends.
func upSource(ctx context.Context, s *upStack, cfg *config.Config) *source.Source {
	var endpoint *monitor.Endpoint
	var records monitor.EndpointRecords
	if a := s.st.Ably; a != nil {
		if a.Local {
			records = localEndpointRecords(a.Host, a.Port, a.TLS, a.Key)
		}
		key := a.Key
		if !a.Local {
			key = cfg.Ably.Key
		}
		endpoint = &monitor.Endpoint{Host: a.Host, Port: a.Port, TLS: a.TLS, Key: key}
	}
	faults, ferr := s.stack.FaultClient(stack.EndpointParams{}) // nil: the palette says why
	return source.New(ctx, source.Options{Monitor: s.mon, Tail: s.tail, Buses: busesOf(s), Endpoint: endpoint,
		EndpointRecords: records, MongoDocs: s.mongo.docs(), Faults: faults, FaultsErr: ferr,
		Stack: s.stack, InProcess: s.inProcessKill})
}

func busesOf(s *upStack) []*connector.Bus {
	if s.group == nil {
		return nil
	}
	return []*connector.Bus{s.bus}
}

func openLog(path string) (io.Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log %s: %w", path, err)
	}
	return f, nil
}
