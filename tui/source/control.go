package source

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// ErrPauseInProcess refuses pause and resume of a node that runs inside
// the dashboard's own process: stopping the process would freeze the
// dashboard with it.
var ErrPauseInProcess = errors.New("runs inside this dashboard's process (livesync-dev up): pausing it would freeze the dashboard too; kill works here, or run nodes with `livesync-dev connector run` in another terminal to pause and resume them")

// noFaults is why the fault commands cannot run.
func (s *Source) noFaults() error {
	if s.opts.FaultsErr != nil {
		return s.opts.FaultsErr
	}
	return stack.ErrFaultsNeedLocal
}

// FaultList implements model.Source.
func (s *Source) FaultList(ctx context.Context) ([]fault.Active, error) {
	if s.opts.Faults == nil {
		return nil, s.noFaults()
	}
	return s.opts.Faults.List(ctx)
}

// FaultAdd implements model.Source.
func (s *Source) FaultAdd(ctx context.Context, r fault.Rule) (fault.Active, error) {
	if s.opts.Faults == nil {
		return fault.Active{}, s.noFaults()
	}
	if err := r.Validate(); err != nil {
		return fault.Active{}, err
	}
	return s.opts.Faults.Add(ctx, r)
}

// FaultClear implements model.Source.
func (s *Source) FaultClear(ctx context.Context, id string) (int, error) {
	if s.opts.Faults == nil {
		return 0, s.noFaults()
	}
	return s.opts.Faults.Clear(ctx, id)
}

// nodeSignals maps the actions to the CLI's signals.
var nodeSignals = map[model.NodeAction]syscall.Signal{
	model.NodeKill: syscall.SIGKILL, model.NodePause: syscall.SIGSTOP, model.NodeResume: syscall.SIGCONT,
}

// NodeSignal implements model.Source: a node of this process is killed
// in-process (postgres.Node.Kill: no release, its lease lapses); any other
// node of the sandbox is signalled as `connector kill|pause|resume` does.
func (s *Source) NodeSignal(_ context.Context, p model.NodeSignalParams) (model.NodeSignalResult, error) {
	sig, ok := nodeSignals[p.Action]
	if !ok {
		return model.NodeSignalResult{}, fmt.Errorf("unknown node action %q: use kill, pause or resume", p.Action)
	}
	if s.opts.InProcess != nil {
		if kill, ok := s.opts.InProcess(p.Node); ok {
			if p.Action != model.NodeKill {
				return model.NodeSignalResult{}, fmt.Errorf("node %s %w", p.Node, ErrPauseInProcess)
			}
			kill()
			return model.NodeSignalResult{InProcess: true}, nil
		}
	}
	if s.opts.Stack == nil {
		return model.NodeSignalResult{}, stack.ErrNoNodes
	}
	np, err := s.opts.Stack.FindNode(p.Node)
	if err != nil {
		return model.NodeSignalResult{}, err
	}
	if err := s.opts.Stack.SignalNode(np, sig); err != nil {
		return model.NodeSignalResult{}, err
	}
	return model.NodeSignalResult{PID: np.Node.PID, Siblings: np.Siblings}, nil
}

// OutboxHold implements model.Source; the hold also ends when the source
// closes (the dashboard quits).
func (s *Source) OutboxHold(ctx context.Context, p monitor.OutboxHoldParams) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	return s.opts.Monitor.OutboxHold(ctx, p)
}
