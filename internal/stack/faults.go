package stack

import (
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
