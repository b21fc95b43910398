package cli

import (
	"fmt"
	"io"

	"github.com/livesync-dev/livesync-dev/sandbox"
)

// printClientOptions tells how to point ably-js and ably-go at the endpoint.
func printClientOptions(w io.Writer, a *sandbox.AblyState) {
	if a == nil {
		return
	}
	if !a.Local {
		fmt.Fprintf(w, "ably: publishing to real Ably (key from %s)\n", a.KeySource)
		return
	}
	fmt.Fprintf(w, `ably: local endpoint at %[1]s:%[2]d, key %[3]s
  ably-js: new Ably.Realtime({ key: '%[3]s', endpoint: '%[1]s', port: %[2]d, tls: false })
  ably-go: ably.NewRealtime(ably.WithKey("%[3]s"), ably.WithEndpoint("%[1]s"), ably.WithPort(%[2]d),
           ably.WithTLS(false), ably.WithInsecureAllowBasicAuthWithoutTLS())
`, a.Host, a.Port, a.Key)
}
