package fake

import (
	"context"
	"errors"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// FaultAPI is the local endpoint's fault client (*ablylocal.FaultClient):
// tests hand the fake a real one against a real endpoint.
type FaultAPI interface {
	List(ctx context.Context) ([]fault.Active, error)
	Add(ctx context.Context, r fault.Rule) (fault.Active, error)
	Clear(ctx context.Context, id string) (int, error)
}

// errNoFaults is what the fake answers without a FaultAPI.
var errNoFaults = errors.New("fault injection needs the local endpoint")

// FaultList implements model.Source through Faults.
func (s *Source) FaultList(ctx context.Context) ([]fault.Active, error) {
	if s.Faults == nil {
		return nil, errNoFaults
	}
	return s.Faults.List(ctx)
}

// FaultAdd implements model.Source through Faults.
func (s *Source) FaultAdd(ctx context.Context, r fault.Rule) (fault.Active, error) {
	if s.Faults == nil {
		return fault.Active{}, errNoFaults
	}
	return s.Faults.Add(ctx, r)
}

// FaultClear implements model.Source through Faults.
func (s *Source) FaultClear(ctx context.Context, id string) (int, error) {
	if s.Faults == nil {
		return 0, errNoFaults
	}
	return s.Faults.Clear(ctx, id)
}

// NodeSignal implements model.Source: it records the call and answers
// NodeErr.
func (s *Source) NodeSignal(_ context.Context, p model.NodeSignalParams) (model.NodeSignalResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Signals = append(s.Signals, p)
	return model.NodeSignalResult{PID: 4242}, s.NodeErr
}

// OutboxHold implements model.Source: it records the call, reports the
// lock held by backend pid 99 and returns at once.
func (s *Source) OutboxHold(_ context.Context, p monitor.OutboxHoldParams) error {
	s.mu.Lock()
	s.Holds = append(s.Holds, p)
	s.mu.Unlock()
	if p.OnHeld != nil {
		p.OnHeld(99)
	}
	return nil
}
