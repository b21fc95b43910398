package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

// gcTuning is how a long-running process of this binary (`connector run`,
// `ably serve`) trades memory for CPU in Go's garbage collector. Per
// published row both allocate short-lived frames, so at Go's default
// (GOGC=100) background marking took ~8% of the connector's CPU during a
// drain; at 300 it takes ~1% (BENCHMARKS.md). The soft memory limit makes
// collection aggressive again before the heap passes it, so a large
// backlog over many channels stays within the connector's memory goal.
// GOGC and GOMEMLIMIT in the environment win, as Go documents.
type gcTuning struct {
	// percent is the GOGC value.
	percent int
	// limitMiB is the soft memory limit (GOMEMLIMIT) in MiB; 0: none.
	limitMiB int64
}

var (
	// connectorGC keeps `connector run` under 64 MB RSS while it drains
	// 100,000 rows over 1,000 channels (performance-anchors); 28 MiB
	// measured 59.8 MB there.
	connectorGC = gcTuning{percent: 300, limitMiB: 28}
	// endpointGC: the endpoint keeps every channel's history in memory, so
	// its live heap grows with use; a smaller percent and no limit.
	endpointGC = gcTuning{percent: 200}
)

// settings are the GOGC percent and memory limit (bytes) to set given the
// environment; -1 leaves a setting as the environment made it.
func (g gcTuning) settings(lookupEnv func(string) (string, bool)) (percent int, limit int64) {
	percent, limit = -1, -1
	if _, set := lookupEnv("GOGC"); !set && g.percent > 0 {
		percent = g.percent
	}
	if _, set := lookupEnv("GOMEMLIMIT"); !set && g.limitMiB > 0 {
		limit = g.limitMiB << 20
	}
	return percent, limit
}

// apply sets the collector unless the environment already did. A command
// run inside a test binary leaves the test process's collector alone.
func (g gcTuning) apply() {
	if testing.Testing() {
		return
	}
	percent, limit := g.settings(os.LookupEnv)
	if percent >= 0 {
		debug.SetGCPercent(percent)
	}
	if limit >= 0 {
		debug.SetMemoryLimit(limit)
	}
}
