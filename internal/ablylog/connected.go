package ablylog

import (
	"context"
	"fmt"

	"github.com/ably/ably-go/ably"
)

// AwaitConnected waits until rt's connection is CONNECTED. Attach before
// that only on a client known to be connected: ably-go v1.3.0 checks the
// connection state and queues a CONNECTING-time ATTACH in two steps, so
// an ATTACH queued just as the first CONNECTED arrives can miss the one
// flush of that queue and leave the channel ATTACHING for good (a
// reconnect re-sends it; the first connection does not). It returns the
// connection's reason when it ends FAILED, CLOSED or SUSPENDED, or the
// context's error.
func AwaitConnected(ctx context.Context, rt *ably.Realtime) error {
	states := make(chan ably.ConnectionStateChange, 16)
	off := rt.Connection.OnAll(func(c ably.ConnectionStateChange) {
		select {
		case states <- c:
		default:
		}
	})
	defer off()
	if rt.Connection.State() == ably.ConnectionStateInitialized {
		rt.Connect()
	}
	for {
		switch st := rt.Connection.State(); st {
		case ably.ConnectionStateConnected:
			return nil
		case ably.ConnectionStateFailed, ably.ConnectionStateClosed, ably.ConnectionStateSuspended:
			if r := rt.Connection.ErrorReason(); r != nil {
				return fmt.Errorf("ably connection %s: %w", st, r)
			}
			return fmt.Errorf("ably connection %s", st)
		}
		select {
		case <-states:
		case <-ctx.Done():
			if r := rt.Connection.ErrorReason(); r != nil {
				return fmt.Errorf("ably connection %s: %w (%w)", rt.Connection.State(), ctx.Err(), r)
			}
			return fmt.Errorf("ably connection %s: %w", rt.Connection.State(), ctx.Err())
		}
	}
}
