package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childEnv is this process's environment without the variables that would
// point the bench's children at the user's configuration, database or Ably
// account (LIVESYNC_*, ABLY_API_KEY): the bench only ever touches its own
// throwaway sandbox, with the default configuration.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LIVESYNC_") || strings.HasPrefix(kv, "ABLY_API_KEY=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runCommand runs the binary in dir to completion and returns its stdout;
// a failure carries the tail of its stderr.
func runCommand(ctx context.Context, exe, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir, cmd.Env = dir, childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("`livesync-dev %s` failed (%v): %s", strings.Join(args, " "), err, lastLines(stderr.String(), 8))
	}
	return stdout.Bytes(), nil
}

// process is a long-running child (the connector) with its output in a log file.
type process struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

// startProcess starts the binary in dir with extra environment variables.
func startProcess(exe, dir, logPath string, extraEnv []string, args ...string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Dir, cmd.Env = dir, append(childEnv(), extraEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting `livesync-dev %s`: %w", strings.Join(args, " "), err)
	}
	p := &process{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// logTail is the end of the process's output, for error messages.
func (p *process) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	return lastLines(string(b), 12)
}

// stop asks the process to stop (SIGTERM, as Ctrl-C would) and kills it
// when it has not exited within grace.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// peakRSSMB reads a process's peak resident set size (VmHWM) in MiB.
func peakRSSMB(pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					return 0, err
				}
				return kb / 1024, nil
			}
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times (100 on Linux).
const clockTicks = 100

// procTimes returns a process's utime+stime and cutime+cstime in seconds,
// and its parent pid.
func procTimes(pid int) (self, children float64, ppid int, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	num := func(k int) float64 { v, _ := strconv.ParseFloat(f[k-3], 64); return v }
	ppid = int(num(4))
	return (num(14) + num(15)) / clockTicks, (num(16) + num(17)) / clockTicks, ppid, nil
}

// cpuSeconds is the CPU time a process has used so far (0 when gone).
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	self, _, _, err := procTimes(pid)
	if err != nil {
		return 0
	}
	return self
}

// treeCPUSeconds is the CPU time of a process, its reaped children and its
// live children (Postgres: the postmaster and every backend).
func treeCPUSeconds(root int) float64 {
	if root <= 0 {
		return 0
	}
	self, reaped, _, err := procTimes(root)
	if err != nil {
		return 0
	}
	total := self + reaped
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if s, _, ppid, err := procTimes(pid); err == nil && ppid == root {
			total += s
		}
	}
	return total
}

// postmasterPID reads the postmaster's pid from a data directory (0 when
// unknown, e.g. compose).
func postmasterPID(dataDir string) int {
	if dataDir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// loadAverage is the 1-minute load average (0 when unknown): a noisy
// machine shows here.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
