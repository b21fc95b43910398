package ablylocal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// testTimeout guards every wait so a broken server fails instead of hanging.
const testTimeout = 15 * time.Second

// formats runs f once per wire format: msgpack (binary) and JSON.
func formats(t *testing.T, f func(t *testing.T, binary bool)) {
	t.Helper()
	for _, binary := range []bool{true, false} {
		name := "json"
		if binary {
			name = "msgpack"
		}
		t.Run(name, func(t *testing.T) { f(t, binary) })
	}
}

// startServer starts a server for one test and closes it at the end.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ctxT returns a context bounded by testTimeout.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// clientOpts is the option set of a test client: local endpoint, format,
// the server's first key unless other auth is given.
func clientOpts(s *Server, binary bool, extra ...ably.ClientOption) []ably.ClientOption {
	opts := ClientOptions(s.Addr(), s.Keys()[0].String())
	opts = append(opts, ably.WithUseBinaryProtocol(binary), ably.WithIdempotentRESTPublishing(true), ably.WithLogLevel(ably.LogNone))
	return append(opts, extra...)
}

// tokenOpts is clientOpts without the key (for token auth).
func tokenOpts(s *Server, binary bool, extra ...ably.ClientOption) []ably.ClientOption {
	opts := ClientOptions(s.Addr(), "")
	opts = append(opts, ably.WithUseBinaryProtocol(binary), ably.WithLogLevel(ably.LogNone))
	return append(opts, extra...)
}

// stateWatcher records connection state changes.
type stateWatcher struct {
	ch chan ably.ConnectionStateChange
}

// watch registers a watcher on a client's connection.
func watch(c *ably.Realtime) *stateWatcher {
	w := &stateWatcher{ch: make(chan ably.ConnectionStateChange, 256)}
	c.Connection.OnAll(func(ch ably.ConnectionStateChange) {
		select {
		case w.ch <- ch:
		default:
		}
	})
	return w
}

// waitFor waits for a state change to state and returns it.
func (w *stateWatcher) waitFor(t testing.TB, state ably.ConnectionState) ably.ConnectionStateChange {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case ch := <-w.ch:
			if ch.Current == state {
				return ch
			}
			if ch.Current == ably.ConnectionStateFailed {
				t.Fatalf("connection FAILED while waiting for %v: %v", state, ch.Reason)
			}
		case <-timer.C:
			t.Fatalf("timed out waiting for connection state %v", state)
		}
	}
}

// newRealtime connects an ably-go realtime client and waits for CONNECTED.
func newRealtime(t testing.TB, opts ...ably.ClientOption) (*ably.Realtime, *stateWatcher) {
	t.Helper()
	opts = append(opts, ably.WithAutoConnect(false))
	c, err := ably.NewRealtime(opts...)
	if err != nil {
		t.Fatalf("NewRealtime: %v", err)
	}
	w := watch(c)
	c.Connect()
	w.waitFor(t, ably.ConnectionStateConnected)
	t.Cleanup(c.Close)
	return c, w
}

// newREST makes an ably-go REST client.
func newREST(t testing.TB, opts ...ably.ClientOption) *ably.REST {
	t.Helper()
	c, err := ably.NewREST(opts...)
	if err != nil {
		t.Fatalf("NewREST: %v", err)
	}
	return c
}

// subscribe attaches and subscribes, returning a channel of messages.
func subscribe(t testing.TB, c *ably.Realtime, name string) <-chan *ably.Message {
	t.Helper()
	out := make(chan *ably.Message, 1024)
	ch := c.Channels.Get(name)
	if _, err := ch.SubscribeAll(ctxT(t), func(m *ably.Message) { out <- m }); err != nil {
		t.Fatalf("subscribe %s: %v", name, err)
	}
	return out
}

// next receives one message or fails.
func next(t testing.TB, ch <-chan *ably.Message) *ably.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for a message")
		return nil
	}
}

// errCode returns an ably error's code, or 0.
func errCode(err error) int {
	if e, ok := err.(*ably.ErrorInfo); ok {
		return int(e.Code)
	}
	return 0
}

// uniq returns a unique channel name for a test.
func uniq(t testing.TB, base string) string {
	return fmt.Sprintf("%s-%d", base, time.Now().UnixNano())
}
