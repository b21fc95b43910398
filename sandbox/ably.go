package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// ablyAlive asks the endpoint for /time.
func ablyAlive(ctx context.Context, a *AblyState) bool {
	scheme := "http"
	if a.TLS {
		scheme = "https"
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, scheme+"://"+a.Host+":"+strconv.Itoa(a.Port)+"/time", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopAbly stops a background endpoint the sandbox started (filled in by
// the local-endpoint integration).
func stopAbly(ctx context.Context, st *State, out io.Writer) error {
	if st.Ably == nil || !st.Ably.Local || st.Ably.PID == 0 {
		return nil
	}
	fmt.Fprintf(out, "ably endpoint: stopping pid %d\n", st.Ably.PID)
	return nil
}

func mongoReason(ctx context.Context, opts Options) string {
	return "MongoDB support is not built yet: no --mongo-url handling, compose or native mongod backend"
}
