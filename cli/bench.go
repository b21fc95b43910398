package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/internal/bench"
)

func init() { commands = append(commands, newBenchCommand) }

// benchFlags are `bench`'s flags.
type benchFlags struct {
	rows, channels, nodes int
	rate, seconds         float64
	jsonOut               bool
	profile               string
	set                   []string
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure drain rate, latency and memory on a throwaway sandbox",
		Long: "Measure the user's path on a throwaway sandbox in a temporary folder (never your data): `sandbox up`\n" +
			"(Postgres and the local endpoint) and `connector run` as separate processes of this binary, with\n" +
			"the default configuration. One run reports: the drain of a --rows backlog over --channels channels\n" +
			"against the raw claim+delete ceiling of the same database (same batch size, no publishing), the\n" +
			"same rows published without the database, and the CPU bound the two imply; commit →\n" +
			"ably-go subscriber latency at --rate single-row transactions per second for --seconds; the\n" +
			"connector's peak RSS; CPU per process; the connector's histograms. See BENCHMARKS.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.rows, "rows", 20000, "backlog rows to drain")
	fl.IntVar(&f.channels, "channels", 20, "channels the backlog is spread over (latency uses at most 10)")
	fl.IntVar(&f.nodes, "nodes", 1, "connector nodes (`connector run --nodes`)")
	fl.Float64Var(&f.rate, "rate", 500, "latency phase: single-row inserts per second")
	fl.Float64Var(&f.seconds, "seconds", 10, "latency phase: duration in seconds")
	fl.BoolVar(&f.jsonOut, "json", false, "print the result as one JSON document on stdout")
	fl.StringArrayVar(&f.set, "set", nil, "connector.KEY=VALUE for the connector process, e.g. connector.lazyFence=true (repeatable; default: every key's default)")
	fl.StringVar(&f.profile, "profile", "", "write the connector's CPU, block, mutex and heap profiles of the drain into this folder (runs it with --pprof)")
	return cmd
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	exe, err := os.Executable()
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("cannot find this livesync-dev binary to run: %w", err)}
	}
	if strings.HasSuffix(exe, ".test") {
		return &ExitError{Code: 1, Err: fmt.Errorf("bench runs the livesync-dev binary as separate processes; %s is a test binary", exe)}
	}
	if f.profile != "" {
		if f.profile, err = filepath.Abs(f.profile); err != nil {
			return usageError("--profile: %v", err)
		}
	}
	settings, cc, err := benchSettings(f.set)
	if err != nil {
		return err
	}
	opts := bench.Options{Executable: exe, Rows: f.rows, Channels: f.channels, Nodes: f.nodes, Rate: f.rate,
		Duration:  time.Duration(f.seconds * float64(time.Second)),
		BatchSize: cc.BatchSize, Connections: cc.AblyConnections, Settings: settings, ProfileDir: f.profile}
	if err := opts.Validate(); err != nil {
		return usageError("%v", err)
	}
	stderr := cmd.ErrOrStderr()
	tty := false
	if fd, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(fd.Fd()))
	}
	pr := &benchProgress{w: stderr, tty: tty}
	opts.Progress = pr.update
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, opts)
	pr.finish()
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	out := cmd.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printBench(out, res)
	return nil
}

// benchSettings parses --set KEY=VALUE pairs (connector.* keys only, not
// the ones bench sets itself) and validates them as the connector will,
// without reading any livesync.yaml; it returns the connector
// configuration they give (batch size, connections).
func benchSettings(pairs []string) (map[string]string, config.Connector, error) {
	if len(pairs) == 0 {
		return nil, config.Default().Connector, nil
	}
	m := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.HasPrefix(k, "connector.") {
			return nil, config.Connector{}, usageError("--set %q: want connector.KEY=VALUE, e.g. --set connector.lazyFence=true", p)
		}
		if k == "connector.nodes" || k == "connector.healthAddr" {
			return nil, config.Connector{}, usageError("--set %s: bench sets this itself (use --nodes)", k)
		}
		m[k] = v
	}
	cfg, err := config.Load(config.Source{Env: []string{"LIVESYNC_CONFIG=" + os.DevNull}, Flags: m})
	if err != nil {
		return nil, config.Connector{}, usageError("--set: %v", err)
	}
	return m, cfg.Connector, nil
}

// benchProgress shows the phase: a redrawn bar on a terminal, one plain
// line per phase otherwise.
type benchProgress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	phase bench.Phase
	drawn bool
}

func (p *benchProgress) update(u bench.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u.Phase != p.phase {
		if p.drawn {
			fmt.Fprintln(p.w)
			p.drawn = false
		}
		p.phase = u.Phase
		if !p.tty {
			fmt.Fprintf(p.w, "bench: %s\n", u.Phase.Title())
			return
		}
	}
	if !p.tty {
		return
	}
	line := fmt.Sprintf("bench: %-30s", u.Phase.Title())
	if u.Total > 0 {
		const width = 30
		filled := int(float64(width) * float64(u.Done) / float64(u.Total))
		filled = max(0, min(filled, width))
		line += fmt.Sprintf(" [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), u.Done, u.Total)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

func (p *benchProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// rowStageTitles head the per-stage columns, in journey order.
var rowStageTitles = map[connector.Stage]string{
	connector.StageCommitNotify: "commit→notify", connector.StageNotifyClaim: "notify→claim",
	connector.StageClaimPublish: "claim→publish", connector.StagePublishAck: "publish→ACK",
	connector.StageAckComplete: "ACK→complete",
}

// printRowStages prints the row journey's stages per phase: p50 / p99 in
// ms (livesync_row_stage_seconds), "-" for a stage no row measured.
func printRowStages(w io.Writer, all []bench.Stage) {
	by := map[string]map[string]bench.Stage{}
	var phases []string
	for _, s := range all {
		if s.RowStage == "" {
			continue
		}
		if by[s.Phase] == nil {
			by[s.Phase] = map[string]bench.Stage{}
			phases = append(phases, s.Phase)
		}
		by[s.Phase][s.RowStage] = s
	}
	if len(phases) == 0 {
		return
	}
	fmt.Fprintf(w, "row stages p50 / p99 ms")
	for _, st := range connector.Stages {
		fmt.Fprint(w, "  "+padLeft(rowStageTitles[st], 15))
	}
	fmt.Fprintln(w)
	for _, ph := range phases {
		fmt.Fprintf(w, "  %-21s", ph)
		for _, st := range connector.Stages {
			cell := "-"
			if s, ok := by[ph][string(st)]; ok {
				cell = fmt.Sprintf("%s / %s", fmtStageMs(s.P50), fmtStageMs(s.P99))
			}
			fmt.Fprint(w, "  "+padLeft(cell, 15))
		}
		fmt.Fprintln(w)
	}
}

// padLeft right-aligns s in n columns (one rune a column).
func padLeft(s string, n int) string {
	return strings.Repeat(" ", max(n-utf8.RuneCountInString(s), 0)) + s
}

// fmtStageMs keeps three significant figures or so.
func fmtStageMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// printBench prints the short human table.
func printBench(w io.Writer, r *bench.Result) {
	c := r.Config
	fmt.Fprintf(w, "livesync-dev bench  %s  %d CPUs, load %.2f → %.2f  (%s Postgres, batch %d, %d node(s))\n\n",
		r.Date, r.Machine.CPUs, r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd, c.Backend, c.BatchSize, c.Nodes)
	d := r.Drain
	fmt.Fprintf(w, "drain      %d rows / %d channels   %8.0f rows/s  (%.2fs, startup %.0f ms)\n", d.Rows, c.Channels, d.RowsPerSec, d.Seconds, d.StartupMs)
	fmt.Fprintf(w, "ceiling    raw claim+delete         %8.0f rows/s  (%.2fs; cpu postgres %.2fs)\n", d.CeilingRowsPerSec, d.CeilingSeconds, d.CeilingPostgresCPUSeconds)
	fmt.Fprintf(w, "ratio      drain / ceiling          %8.3f\n", d.Ratio)
	pc := d.PublishCeiling
	fmt.Fprintf(w, "publish    same rows, no database   %8.0f rows/s  (%.2fs over %d connection(s); cpu publisher %.2fs, endpoint %.2fs)\n",
		pc.RowsPerSec, pc.Seconds, pc.Connections, pc.PublisherCPUSeconds, pc.EndpointCPUSeconds)
	if d.CPUBoundRowsPerSec > 0 {
		fmt.Fprintf(w, "cpu bound  ceilings' CPU, %d cores    %8.0f rows/s  (drain at %.3f of it)\n", r.Machine.CPUs, d.CPUBoundRowsPerSec, d.CPUBoundRatio)
	}
	l := r.Latency
	fmt.Fprintf(w, "latency    %g rows/s asked, %.0f achieved, %d/%d delivered, %d channels\n", l.Rate, l.AchievedRate, l.Received, l.Sent, l.Channels)
	fmt.Fprintf(w, "           p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs)
	for _, part := range []struct {
		name string
		q    bench.Quantiles
	}{{"insert → COMMIT returned", l.Split.InsertToCommit}, {"COMMIT returned → receipt", l.Split.CommitToReceipt}} {
		fmt.Fprintf(w, "           %-26s p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms\n", part.name, part.q.P50Ms, part.q.P90Ms, part.q.P99Ms, part.q.MaxMs)
	}
	fmt.Fprintf(w, "memory     connector peak RSS %.1f MB (after the drain %.1f MB)\n", r.Memory.ConnectorPeakRSSMB, r.Memory.ConnectorDrainPeakRSSMB)
	fmt.Fprintf(w, "cpu        during the drain (%.2fs): connector %.2fs, endpoint %.2fs, postgres %.2fs\n",
		r.CPU.WallSeconds, r.CPU.ConnectorSeconds, r.CPU.EndpointSeconds, r.CPU.PostgresSeconds)
	for _, s := range r.Stages {
		if s.RowStage == "" {
			fmt.Fprintf(w, "histogram  %-8s %-34s n=%-7d mean %.2f p50 %.2f p90 %.2f p99 %.2f %s\n", s.Phase, s.Name, s.Count, s.Mean, s.P50, s.P90, s.P99, s.Unit)
		}
	}
	printRowStages(w, r.Stages)
	if r.Profile != nil {
		fmt.Fprintf(w, "profiles   %s (go tool pprof -top FILE)\n", r.Profile.Dir)
	}
}
