package stack

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/livesync-dev/livesync-dev/ablylocal"
)

// ErrFaultsNeedLocal is returned when fault injection is asked of real Ably.
var ErrFaultsNeedLocal = errors.New("fault injection needs the local endpoint: real Ably cannot be told to fail; drop --ably-key / ABLY_API_KEY and run `livesync-dev sandbox up`")

// FaultClient talks to the control route of the sandbox's local endpoint
// (or the one explicit endpoint flags name) with the sandbox key.
func (s *Stack) FaultClient(p EndpointParams) (*ablylocal.FaultClient, error) {
	ep, err := s.Endpoint(p)
	if err != nil {
		return nil, err
	}
	if ep.Real || ep.Local == nil {
		return nil, ErrFaultsNeedLocal
	}
	return &ablylocal.FaultClient{Addr: net.JoinHostPort(ep.Local.Host, strconv.Itoa(ep.Local.Port)), Key: ep.Key, TLS: ep.Local.TLS}, nil
}

// ApplyConfigFaults puts the rules of ably.local.faults in force on the
// running local endpoint when they are not already (an endpoint started
// by `sandbox up` has them from its start; one found running gets the
// rules the file gained since). It returns how many rules it added.
func (s *Stack) ApplyConfigFaults(ctx context.Context) (int, error) {
	want := s.Config.Ably.Local.Faults
	if len(want) == 0 || s.Sandbox == nil || s.Sandbox.Ably == nil || !s.Sandbox.Ably.Local {
		return 0, nil
	}
	fc, err := s.FaultClient(EndpointParams{})
	if err != nil {
		return 0, err
	}
	have, err := fc.List(ctx)
	if err != nil {
		return 0, err
	}
	added := 0
	for _, r := range want {
		found := false
		for _, a := range have {
			got := a.Rule
			got.ID = ""
			if got == r {
				found = true
				break
			}
		}
		if !found {
			if _, err := fc.Add(ctx, r); err != nil {
				return added, err
			}
			added++
		}
	}
	return added, nil
}
