// Package bench measures the user's path end to end: a throwaway sandbox
// (`sandbox up`: Postgres and the local endpoint as a background process)
// and `connector run` as its own process, both this same livesync-dev
// binary. It reports the backlog drain against the raw database ceiling
// measured in the same run, commit → subscriber latency, the connector's
// peak memory, CPU per process and the connector's own histograms.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// Options say what to measure.
type Options struct {
	// Executable is the livesync-dev binary run as `sandbox up` and
	// `connector run` (required; under go test, a binary built for the test).
	Executable string
	// Rows is the backlog size; Channels how many channels it spreads over.
	Rows, Channels int
	// Nodes is `connector run --nodes`.
	Nodes int
	// Rate (rows/s) and Duration shape the latency phase.
	Rate     float64
	Duration time.Duration
	// BatchSize is the connector's claim batch (the ceiling uses the same).
	BatchSize int
	// Connections is the connector's ablyConnections (the publish ceiling
	// uses the same); 0 means 1.
	Connections int
	// Settings are connector.* configuration keys for the connector process
	// (as `--set KEY=VALUE`), passed as their LIVESYNC_* variables; the
	// caller validates them and sets BatchSize to match.
	Settings map[string]string
	// ProfileDir, when set, runs the connector with --pprof and writes CPU,
	// block, mutex and heap profiles of the drain there.
	ProfileDir string
	// Progress, when set, receives progress updates (from several goroutines
	// in turn, never concurrently).
	Progress func(Progress)
}

// Progress is one update: the phase and, where countable, rows done of total.
type Progress struct {
	Phase       Phase
	Done, Total int64
}

// Phase is one step of a bench run, in the order Run takes them.
type Phase string

// The phases of a run.
const (
	PhaseSandbox Phase = "sandbox"
	PhaseCeiling Phase = "ceiling"
	PhasePublish Phase = "publish"
	PhaseDrain   Phase = "drain"
	PhaseLatency Phase = "latency"
	PhaseCleanup Phase = "cleanup"
)

// Phases are every phase, in the order Run takes them.
var Phases = []Phase{PhaseSandbox, PhaseCeiling, PhasePublish, PhaseDrain, PhaseLatency, PhaseCleanup}

// Title is what a progress display calls the phase.
func (p Phase) Title() string {
	switch p {
	case PhaseSandbox:
		return "starting a throwaway sandbox"
	case PhaseCeiling:
		return "raw claim+delete ceiling"
	case PhasePublish:
		return "publish ceiling (no database)"
	case PhaseDrain:
		return "draining the backlog"
	case PhaseLatency:
		return "latency under load"
	case PhaseCleanup:
		return "removing the sandbox"
	}
	return string(p)
}

// Validate refuses values the bench cannot run with, naming the fix.
func (o Options) Validate() error {
	var errs []error
	if o.Executable == "" {
		errs = append(errs, errors.New("no livesync-dev binary to run"))
	}
	if o.Rows < 1 || o.Rows > 10_000_000 {
		errs = append(errs, fmt.Errorf("--rows %d is out of range: use 1..10000000", o.Rows))
	}
	if o.Channels < 1 || o.Channels > 100_000 {
		errs = append(errs, fmt.Errorf("--channels %d is out of range: use 1..100000", o.Channels))
	}
	if o.Nodes < 1 || o.Nodes > 64 {
		errs = append(errs, fmt.Errorf("--nodes %d is out of range: use 1..64", o.Nodes))
	}
	if o.Rate <= 0 || o.Rate > 100_000 {
		errs = append(errs, fmt.Errorf("--rate %g is out of range: use more than 0 and at most 100000 rows/s", o.Rate))
	}
	if o.Duration <= 0 || o.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("--seconds %g is out of range: use more than 0 and at most 3600", o.Duration.Seconds()))
	}
	for k := range o.Settings {
		if !strings.HasPrefix(k, "connector.") || settingsEnv(map[string]string{k: ""}) == nil {
			errs = append(errs, fmt.Errorf("--set %s: only connector.* configuration keys can be set (see the README's configuration keys)", k))
		}
	}
	if o.BatchSize < 1 || o.BatchSize > 1000 {
		errs = append(errs, fmt.Errorf("batch size %d is out of range: use 1..1000", o.BatchSize))
	}
	return errors.Join(errs...)
}

func (o Options) progress(phase Phase, done, total int64) {
	if o.Progress != nil {
		o.Progress(Progress{Phase: phase, Done: done, Total: total})
	}
}

// Run measures once. It creates and always removes its own sandbox in a
// temporary folder; the user's project and data are never touched.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	res = &Result{Date: time.Now().UTC().Format(time.RFC3339),
		Machine: Machine{CPUs: runtime.NumCPU(), LoadAvgStart: loadAverage()},
		Config: Config{Rows: o.Rows, Channels: o.Channels, Nodes: o.Nodes, BatchSize: o.BatchSize,
			Settings: o.Settings, Profiling: o.ProfileDir != ""}}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("--profile: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "livesync-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cleanup := context.WithoutCancel(ctx)

	o.progress(PhaseSandbox, 0, 0)
	out, err := runCommand(ctx, o.Executable, dir, "sandbox", "up", "--json")
	defer func() {
		o.progress(PhaseCleanup, 0, 0)
		dctx, cancel := context.WithTimeout(cleanup, 2*time.Minute)
		defer cancel()
		if _, derr := runCommand(dctx, o.Executable, dir, "sandbox", "down", "--purge"); derr != nil && err == nil {
			err = fmt.Errorf("removing the bench's sandbox: %w", derr)
		}
	}()
	if err != nil {
		return nil, err
	}
	var st sandbox.State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("`sandbox up --json` printed no state: %v", err)
	}
	if st.Ably == nil || !st.Ably.Local {
		return nil, errors.New("the bench's sandbox has no local Ably endpoint")
	}
	res.Config.Backend = st.Postgres.Backend
	adminURL, err := (&st).AdminURL()
	if err != nil {
		return nil, err
	}
	pool, err := dbconn.Pool(ctx, st.Postgres.URL, "livesync-dev bench", int32(generatorsFor(o.Rate)+2))
	if err != nil {
		return nil, err
	}
	defer pool.Close()

	// 1. The ceiling: the raw loop on the same database and backlog size.
	o.progress(PhaseCeiling, 0, int64(o.Rows))
	if err := insertBacklog(ctx, pool, "ceil-", o.Rows, o.Channels); err != nil {
		return nil, err
	}
	if err := vacuum(ctx, adminURL); err != nil {
		return nil, err
	}
	pgPID := postmasterPID(st.Postgres.DataDir)
	pgCeil0 := treeCPUSeconds(pgPID)
	n, took, err := ceiling(ctx, pool, o.BatchSize)
	if err != nil {
		return nil, err
	}
	res.Drain.CeilingPostgresCPUSeconds = round(treeCPUSeconds(pgPID)-pgCeil0, 2)
	if n != o.Rows {
		return nil, fmt.Errorf("the ceiling loop took %d rows of %d", n, o.Rows)
	}
	res.Drain.CeilingSeconds = round(took.Seconds(), 3)
	ceilingRate := float64(n) / took.Seconds()
	res.Drain.CeilingRowsPerSec = round(ceilingRate, 1)
	o.progress(PhaseCeiling, int64(n), int64(o.Rows))

	// 1b. The publish ceiling: the same rows through the connector's
	// publisher alone, no database.
	o.progress(PhasePublish, 0, int64(o.Rows))
	res.Drain.PublishCeiling, err = publishCeiling(ctx, publishParams{pool: pool, ablyAddr: fmt.Sprintf("%s:%d", st.Ably.Host, st.Ably.Port),
		ablyKey: st.Ably.Key, rows: o.Rows, channels: o.Channels, connections: max(o.Connections, 1), endpointPID: st.Ably.PID,
		progress: func(done int64) { o.progress(PhasePublish, done, int64(o.Rows)) }})
	if err != nil {
		return nil, err
	}

	// 2. The drain: backlog, VACUUM ANALYZE, start the connector, time until
	// no row is unprocessed.
	o.progress(PhaseDrain, 0, int64(o.Rows))
	if err := insertBacklog(ctx, pool, "drain-", o.Rows, o.Channels); err != nil {
		return nil, err
	}
	if err := vacuum(ctx, adminURL); err != nil {
		return nil, err
	}
	ablyPID := st.Ably.PID
	args := []string{"connector", "run", "--nodes", strconv.Itoa(o.Nodes), "--health-addr", "127.0.0.1:0"}
	if o.ProfileDir != "" {
		args = append(args, "--pprof")
	}
	pgCPU0, ablyCPU0 := treeCPUSeconds(pgPID), cpuSeconds(ablyPID)
	start := time.Now()
	conn, err := startProcess(o.Executable, dir, filepath.Join(dir, "connector.log"), settingsEnv(o.Settings), args...)
	if err != nil {
		return nil, err
	}
	defer conn.stop(30 * time.Second)
	addrs, err := waitRegistered(ctx, dir, conn, o.Nodes)
	if err != nil {
		return nil, err
	}
	res.Drain.StartupMs = round(float64(time.Since(start).Microseconds())/1000, 1)
	prof := &profiler{dir: o.ProfileDir, addr: addrs[0]}
	if err := prof.startCPU(ctx); err != nil {
		return nil, err
	}
	if err := waitDrained(ctx, pool, conn, int64(o.Rows), func(done int64) { o.progress(PhaseDrain, done, int64(o.Rows)) }); err != nil {
		return nil, err
	}
	wall := time.Since(start)
	res.CPU = CPU{WallSeconds: round(wall.Seconds(), 3), ConnectorSeconds: round(cpuSeconds(conn.pid()), 2),
		EndpointSeconds: round(cpuSeconds(ablyPID)-ablyCPU0, 2), PostgresSeconds: round(treeCPUSeconds(pgPID)-pgCPU0, 2)}
	if err := prof.collect(ctx); err != nil {
		return nil, err
	}
	if o.ProfileDir != "" {
		res.Profile = &Profile{Dir: o.ProfileDir, Files: prof.files}
	}
	res.Drain.Rows = o.Rows
	res.Drain.Seconds = round(wall.Seconds(), 3)
	rate := float64(o.Rows) / wall.Seconds()
	res.Drain.RowsPerSec = round(rate, 1)
	res.Drain.Ratio = round(rate/ceilingRate, 3)
	if bound := cpuBound(o.Rows, res.Machine.CPUs, res.Drain); bound > 0 {
		res.Drain.CPUBoundRowsPerSec = round(bound, 1)
		res.Drain.CPUBoundRatio = round(rate/bound, 3)
	}
	res.Memory.ConnectorDrainPeakRSSMB, _ = peakRSSMB(conn.pid())
	res.Memory.ConnectorDrainPeakRSSMB = round(res.Memory.ConnectorDrainPeakRSSMB, 1)
	afterDrain, err := scrapeHistograms(ctx, addrs)
	if err != nil {
		return nil, err
	}
	res.Stages = stages("drain", afterDrain, nil)

	// 3. Latency under a steady single-row load, same connector.
	o.progress(PhaseLatency, 0, 0)
	lat, err := measureLatency(ctx, latencyParams{pool: pool, ablyAddr: fmt.Sprintf("%s:%d", st.Ably.Host, st.Ably.Port),
		ablyKey: st.Ably.Key, channels: min(o.Channels, latencyChannels), rate: o.Rate, duration: o.Duration,
		progress: func(done, total int64) { o.progress(PhaseLatency, done, total) }})
	if err != nil {
		return nil, err
	}
	res.Latency = lat
	afterLatency, err := scrapeHistograms(ctx, addrs)
	if err != nil {
		return nil, err
	}
	res.Stages = append(res.Stages, stages("latency", afterLatency, afterDrain)...)
	peak, err := peakRSSMB(conn.pid())
	if err != nil {
		return nil, fmt.Errorf("reading the connector's memory: %w", err)
	}
	// The drain's peak was sampled separately; the whole run's peak can
	// never be below it.
	res.Memory.ConnectorPeakRSSMB = max(round(peak, 1), res.Memory.ConnectorDrainPeakRSSMB)
	res.Machine.LoadAvgEnd = loadAverage()
	if res.Stages == nil {
		res.Stages = []Stage{}
	}
	return res, nil
}

// settingsEnv turns configuration keys into their LIVESYNC_* variables
// (nil when a key is unknown).
func settingsEnv(settings map[string]string) []string {
	if len(settings) == 0 {
		return nil
	}
	envs := map[string]string{}
	for _, k := range config.KeyPaths() {
		envs[k.Path] = k.Env
	}
	var out []string
	for k, v := range settings {
		e, ok := envs[k]
		if !ok {
			return nil
		}
		out = append(out, e+"="+v)
	}
	return out
}
