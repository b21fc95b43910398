package ablylog_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// TestAwaitConnected: a good key reaches CONNECTED and then attaches; a
// wrong key ends with the endpoint's reason; a refused port ends at the
// caller's deadline with the context's error.
func TestAwaitConnected(t *testing.T) {
	srv, err := ablylocal.Start(context.Background(), ablylocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(srv.Addr(), srv.Keys()[0].String()), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		t.Fatalf("good key: %v", err)
	}
	if st := rt.Connection.State(); st != ably.ConnectionStateConnected {
		t.Fatalf("state %s after AwaitConnected", st)
	}
	if err := rt.Channels.Get("await").Attach(ctx); err != nil {
		t.Fatalf("attach after AwaitConnected: %v", err)
	}

	bad, err := ably.NewRealtime(append(ablylocal.ClientOptions(srv.Addr(), "nope.nope:wrong"), ably.WithLogLevel(ably.LogNone), ably.WithAutoConnect(false))...)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	err = ablylog.AwaitConnected(ctx, bad)
	if errors.Is(err, context.DeadlineExceeded) || err == nil || !strings.Contains(err.Error(), "FAILED") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong key: got %v, want the FAILED connection's 401 reason", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	off, err := ably.NewRealtime(append(ablylocal.ClientOptions(addr, "a.b:c"), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	short, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer scancel()
	if err := ablylog.AwaitConnected(short, off); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("refused port: got %v, want the deadline", err)
	}
}
