package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// sandboxMarker is the `ably serve` flag naming the project folder a
// background endpoint belongs to, so `sandbox down` can find it from the
// process table when sandbox.json is damaged or gone.
const sandboxMarker = "--sandbox"

// recoverDown stops what the project folder dir started when its state file
// is damaged or missing: it takes the lock (waiting for, and naming, a
// holder), stops endpoint processes whose command line names this folder
// (or whose output goes to its ably.log), and stops Postgres from the data
// directory's postmaster.pid. The damaged file is kept as
// sandbox.json.damaged unless purging.
func recoverDown(ctx context.Context, dir string, opts DownOptions, out io.Writer, cause error) (*State, error) {
	if cause != nil {
		fmt.Fprintf(out, "%v\nrecovering from the folder itself\n", cause)
	}
	lock, err := AcquireLock(ctx, dir, "sandbox down (recovery)", 2*time.Minute, out)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	for _, pid := range endpointProcesses(dir) {
		if err := stopProcess(ctx, pid, func() bool { return endpointOf(pid, dir) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "ably endpoint: stopped (pid %d, found by its command line)\n", pid)
	}
	native := newNativeBackend(ctx, dir, 0)
	backends := []pgBackend{newEmbeddedBackend(dir, Options{})}
	if native.cluster != nil {
		backends = append([]pgBackend{native}, backends...)
	}
	for _, b := range backends {
		if !b.running(ctx) {
			if opts.Purge {
				_ = b.down(ctx, true)
			}
			continue
		}
		if err := b.down(ctx, opts.Purge); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "postgres (%s): stopped (found by its postmaster.pid)\n", b.name())
	}
	if _, err := os.Stat(filepath.Join(dir, DirName, "compose")); err == nil {
		if err := newComposeBackend(dir, Options{}).down(ctx, opts.Purge); err != nil {
			fmt.Fprintf(out, "compose: %v\n", err)
		}
	}
	st := &State{Version: 1, dir: dir}
	if opts.Purge {
		if err := purgeDir(dir); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "sandbox data deleted\n")
		return st, nil
	}
	path := filepath.Join(dir, DirName, StateFile)
	if _, err := os.Stat(path); err == nil {
		if err := os.Rename(path, path+".damaged"); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "kept the damaged state as %s.damaged; `livesync-dev sandbox up` starts again on the same data\n", path)
	}
	return st, nil
}

// purgeDir removes the project's .livesync folder: state, logs (ably.log
// holds the endpoint's start-up lines), lock, node registrations and data.
func purgeDir(dir string) error {
	return os.RemoveAll(filepath.Join(dir, DirName))
}

// endpointProcesses lists `ably serve` processes that belong to the project
// folder dir.
func endpointProcesses(dir string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if endpointOf(pid, dir) && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// endpointOf reports whether pid is an `ably serve` whose command line
// names dir (--sandbox DIR) or whose output goes to dir's ably.log (an
// endpoint started before the marker existed).
func endpointOf(pid int, dir string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	serve := false
	for i, a := range args {
		if string(a) == "serve" && i > 0 && string(args[i-1]) == "ably" {
			serve = true
		}
		if serve && string(a) == sandboxMarker && i+1 < len(args) && string(args[i+1]) == dir {
			return true
		}
	}
	if !serve {
		return false
	}
	out, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", "1"))
	return err == nil && out == filepath.Join(dir, DirName, AblyLogFile)
}

// stopProcess sends SIGTERM to pid and waits while still() reports it is
// the same process, escalating to SIGKILL after 10 s.
func stopProcess(ctx context.Context, pid int, still func() bool) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping the Ably endpoint (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for still() && !zombie(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // another process's exit has no event here
		}
	}
	return nil
}
