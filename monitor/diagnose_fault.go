package monitor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// injectedFix replaces the advice for an error a fault rule of the local
// endpoint caused (its message carries fault.Marker): the fix is to clear
// the rule, not to change the key or the row.
func injectedFix(st *Stuck) {
	if !strings.Contains(st.ErrorMessage, fault.Marker) {
		return
	}
	if st.Reason == Blocked {
		st.Action = fmt.Sprintf("an injected fault refuses channel %s (see `livesync-dev fault list`): run `livesync-dev fault clear`, then `livesync-dev outbox retry %d`", st.Channel, st.SequenceID)
		return
	}
	st.Action = "an injected fault refuses these publishes (see `livesync-dev fault list`): run `livesync-dev fault clear`; the connector retries with backoff and the row goes out"
}

// FaultLister lists the fault rules in force on the local endpoint
// (ablylocal.FaultClient over its control route).
type FaultLister interface {
	List(ctx context.Context) ([]fault.Active, error)
}

// faultListTimeout bounds the fault lookup of one snapshot: an endpoint
// that is down must not slow the dashboard.
const faultListTimeout = 300 * time.Millisecond

// faults adds the rules in force; an endpoint that does not answer adds
// none (the nodes' Ably state already says it is down).
func (m *Monitor) faults(ctx context.Context, s *Snapshot) {
	if m.opts.Faults == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, faultListTimeout)
	defer cancel()
	if rules, err := m.opts.Faults.List(ctx); err == nil && rules != nil {
		s.Faults = rules
	}
}
