package sandbox

import "github.com/livesync-dev/livesync-dev/pgcluster"

// findBinaries locates server binaries; tests replace it to simulate a
// machine without PostgreSQL.
var findBinaries = pgcluster.FindBinaries
