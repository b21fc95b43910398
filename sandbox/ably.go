package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
	"github.com/livesync-dev/livesync-dev/pgcluster"
)

// AblyLogFile is the background endpoint's log inside .livesync.
const AblyLogFile = "ably.log"

// RealAblyHost is recorded for real Ably (the SDKs' default endpoint).
const RealAblyHost = "rest.ably.io"

// ablyAlive asks the endpoint for /time.
func ablyAlive(ctx context.Context, a *AblyState) bool {
	scheme := "http"
	if a.TLS {
		scheme = "https"
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	u := scheme + "://" + net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) + "/time"
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u, nil)
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

// ensureAbly records real Ably, finds the background endpoint healthy, or
// (re)starts it as a detached `livesync-dev ably serve` process: in its own
// session, stdin from /dev/null and output to .livesync/ably.log, so that
// `$(livesync-dev sandbox up --json)` returns. It returns once /time answers.
func ensureAbly(ctx context.Context, st *State, opts Options, warn func(string, ...any)) error {
	if opts.AblyKey != "" {
		src := opts.AblyKeySource
		if src == "" {
			src = "flag:--ably-key"
		}
		st.Ably = &AblyState{Host: RealAblyHost, Port: 443, TLS: true, KeySource: src, Local: false}
		return nil
	}
	prev := st.Ably
	if prev != nil && prev.Local {
		prev.Running = ablyAlive(ctx, prev)
		if prev.Running {
			return nil
		}
	}
	if opts.Executable == "" {
		return nil // no binary to run (library use, `up`): the caller serves it
	}
	host, port, key, err := st.LocalAblyListen(opts.AblyAddr, warn)
	if err != nil {
		return err
	}
	pid, err := spawnAbly(ctx, st.dir, opts, host, port, key)
	if err != nil {
		return err
	}
	st.Ably = &AblyState{Host: host, Port: port, TLS: false, Key: key, Local: true, Running: true, PID: pid}
	return nil
}

// LocalAblyListen picks where a local endpoint listens and with which key:
// the recorded ones (same key, same port while it is free, else a new port
// with a warning), addr's host and fixed port when given (port 0: any free
// port), a generated key for a new sandbox.
func (s *State) LocalAblyListen(addr string, warn func(string, ...any)) (host string, port int, key string, err error) {
	host = "127.0.0.1"
	prev := s.Ably
	if prev != nil && prev.Local {
		key, port, host = prev.Key, prev.Port, prev.Host
	}
	if key == "" {
		key = auth.GenerateKey().String()
	}
	if addr != "" {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", 0, "", fmt.Errorf("ably.local.addr %q: %v (want HOST:PORT, e.g. 127.0.0.1:0)", addr, err)
		}
		host = h
		if n, _ := strconv.Atoi(p); n != 0 {
			port = n
		}
	}
	if port != 0 && !pgcluster.PortFree(port) {
		if prev == nil || prev.Port != port {
			return "", 0, "", fmt.Errorf("the Ably endpoint's port %d is already in use: free it or set ably.local.addr to port 0", port)
		}
		p, err := pgcluster.FreePort()
		if err != nil {
			return "", 0, "", err
		}
		warn("port %d is no longer free; the Ably endpoint now listens on %d (update client options you copied)", port, p)
		port = p
	}
	if port == 0 {
		if port, err = pgcluster.FreePort(); err != nil {
			return "", 0, "", err
		}
	}
	return host, port, key, nil
}

// spawnAbly starts the detached endpoint and waits until /time answers.
func spawnAbly(ctx context.Context, dir string, opts Options, host string, port int, key string) (int, error) {
	d, err := ensureDir(dir)
	if err != nil {
		return 0, err
	}
	logPath := filepath.Join(d, AblyLogFile)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	// The key reaches the endpoint through an inherited pipe (fd 3), never
	// its command line, which any user can read in `ps`.
	keyR, keyW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer keyR.Close()
	args := append([]string{"ably", "serve", "--addr", net.JoinHostPort(host, strconv.Itoa(port)),
		"--key-file", "/dev/fd/3", sandboxMarker, dir}, opts.AblyArgs...)
	cmd := exec.Command(opts.Executable, args...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.ExtraFiles = []*os.File{keyR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		keyW.Close()
		return 0, fmt.Errorf("starting the Ably endpoint (%s ably serve): %w", opts.Executable, err)
	}
	_, werr := io.WriteString(keyW, key+"\n")
	keyW.Close()
	if werr != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("passing the key to the Ably endpoint: %w", werr)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	a := &AblyState{Host: host, Port: port}
	deadline := time.Now().Add(30 * time.Second)
	for !ablyAlive(ctx, a) {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("the Ably endpoint exited during start-up (%v); its log %s says:\n%s", err, logPath, tail(logPath, 8))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond): // no readiness event: poll /time
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return 0, fmt.Errorf("the Ably endpoint did not answer /time within 30s; see %s", logPath)
		}
	}
	return cmd.Process.Pid, nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ownsAblyProcess checks that pid is still our endpoint on port (pids are
// reused): its command line must be `... ably serve --addr HOST:PORT ...`.
func ownsAblyProcess(pid, port int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	var sawServe bool
	for i, a := range args {
		if string(a) == "serve" && i > 0 && string(args[i-1]) == "ably" {
			sawServe = true
		}
		if sawServe && string(a) == "--addr" && i+1 < len(args) && strings.HasSuffix(string(args[i+1]), ":"+strconv.Itoa(port)) {
			return true
		}
	}
	return false
}

// stopAbly stops the background endpoint the sandbox started, after checking
// the recorded pid is still that endpoint.
func stopAbly(ctx context.Context, st *State, out io.Writer) error {
	a := st.Ably
	if a == nil || !a.Local || a.PID == 0 {
		return nil
	}
	if a.PID == os.Getpid() {
		return nil // served in-process by this command (`up`), which stops it
	}
	if !ownsAblyProcess(a.PID, a.Port) {
		fmt.Fprintf(out, "ably endpoint: pid %d is no longer our endpoint; nothing to stop\n", a.PID)
		a.PID, a.Running = 0, false
		return nil
	}
	if err := stopProcess(ctx, a.PID, func() bool { return ownsAblyProcess(a.PID, a.Port) }); err != nil {
		return err
	}
	fmt.Fprintf(out, "ably endpoint: stopped (pid %d)\n", a.PID)
	a.PID, a.Running = 0, false
	return nil
}

func zombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// SetAbly records (or, with nil, removes) the Ably endpoint in the
// project's sandbox.json under the sandbox lock. `up` uses it for the
// endpoint it runs in-process, so `insert` and `tail` elsewhere find it.
func SetAbly(ctx context.Context, dir string, a *AblyState) error {
	lock, err := AcquireLock(ctx, dir, "record ably endpoint", 2*time.Minute, nil)
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := Load(dir)
	if err != nil {
		return err
	}
	st.Ably = a
	return st.Save()
}
