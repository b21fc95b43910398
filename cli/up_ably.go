package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// upAbly makes sure `up` has an Ably endpoint: real Ably (recorded by
// sandbox.Up), a healthy background endpoint from `sandbox up`, or one it
// serves in-process and records in sandbox.json until it returns. The
// returned function stops what upAbly started.
func upAbly(ctx context.Context, stk *stack.Stack, errw io.Writer) (func(), error) {
	st, cfg := stk.Sandbox, stk.Config
	if st.Ably != nil && (!st.Ably.Local || st.Ably.Running) {
		return func() {}, nil
	}
	host, port, keyText, err := st.LocalAblyListen(cfg.Ably.Local.Addr, func(format string, args ...any) {
		fmt.Fprintf(errw, "warning: "+format+"\n", args...)
	})
	if err != nil {
		return nil, err
	}
	key, err := auth.ParseKeySpec(keyText)
	if err != nil {
		return nil, fmt.Errorf("the Ably key recorded in sandbox.json is unusable (%v): run `livesync-dev sandbox down --purge` for a new one", err)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	opts := stk.LocalAblyOptions()
	opts.Addr, opts.Keys = addr, []auth.Key{key}
	srv, err := ablylocal.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	a := &sandbox.AblyState{Host: srv.Host(), Port: srv.Port(), Key: key.String(), Local: true, Running: true, PID: os.Getpid()}
	if err := sandbox.SetAbly(ctx, st.Dir(), a); err != nil {
		srv.Close()
		return nil, err
	}
	st.Ably = a
	fmt.Fprintf(errw, "ably endpoint: serving in-process at %s\n", srv.Addr())
	var once sync.Once
	return func() {
		once.Do(func() { stopInProcess(srv, st) })
	}, nil
}

// stopInProcess closes the in-process endpoint and removes it from
// sandbox.json.
func stopInProcess(srv *ablylocal.Server, st *sandbox.State) {
	srv.Close()
	dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = sandbox.SetAbly(dctx, st.Dir(), nil)
}
