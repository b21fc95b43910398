// Command livesync-dev is a terminal dashboard and local sandbox for Ably
// LiveSync: it provisions Postgres as LiveSync requires, runs a local copy of
// the connector, serves a local Ably-compatible endpoint and shows it all.
package main

import (
	"os"

	"github.com/livesync-dev/livesync-dev/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:]))
}
