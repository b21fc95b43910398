package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cluster is one PostgreSQL data directory and the programs that serve it.
// The base directory holds "data/" and "postgres.log", both owned by the
// server's user.
type Cluster struct {
	// Bin is the installation used.
	Bin Binaries
	// Base is the directory holding data/ and postgres.log.
	Base string
	// Owner runs the server programs.
	Owner Owner
	// TimeZone is the server's default time zone ("UTC" for sandboxes).
	TimeZone string
	// Fsync is false only for throw-away test clusters.
	Fsync bool
}

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.Base, "data") }

// LogFile is where the server writes its log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Base, "postgres.log") }

// Initialized reports whether the data directory holds a cluster.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	return err == nil
}

// DataMajor returns the major version that created the data directory.
func (c *Cluster) DataMajor() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "PG_VERSION"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// CheckVersion explains a data directory made by another major version.
func (c *Cluster) CheckVersion() error {
	m, err := c.DataMajor()
	if err != nil {
		return fmt.Errorf("reading the data directory's version: %w", err)
	}
	if m != c.Bin.Major {
		return fmt.Errorf("the data directory %s was created by PostgreSQL %d, but the server found is PostgreSQL %d (%s); install PostgreSQL %d, or discard the sandbox data with `livesync-dev sandbox down --purge` and start again", c.DataDir(), m, c.Bin.Major, c.Bin.Dir, m)
	}
	return nil
}

// Init creates the base directory and initialises the data directory:
// superuser "postgres" with trust authentication on loopback TCP only,
// UTF8, C.UTF-8, and the settings livesync-dev relies on.
func (c *Cluster) Init(ctx context.Context) error {
	if err := os.MkdirAll(c.Base, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", c.Base, err)
	}
	if err := c.Owner.Chown(c.Base); err != nil {
		return fmt.Errorf("giving %s to user %s: %w", c.Base, c.Owner.Name, err)
	}
	if err := c.Owner.CheckReachable(c.Base); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, c.Bin.Path("initdb"),
		"-D", c.DataDir(), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
		"--auth=trust", "--no-instructions")
	if !c.Fsync {
		cmd.Args = append(cmd.Args, "--no-sync")
	}
	cmd.Dir = c.Base
	c.Owner.apply(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb failed: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	tz := c.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	conf := fmt.Sprintf(`
# added by livesync-dev
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
timezone = '%s'
log_timezone = 'UTC'
track_commit_timestamp = on
max_connections = 200
fsync = %v
synchronous_commit = %v
`, tz, onOff(c.Fsync), onOff(c.Fsync))
	f, err := os.OpenFile(filepath.Join(c.DataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// PortFree reports whether 127.0.0.1:port can be bound now.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the server with pg_ctl on port and waits until it accepts
// connections; the server outlives the calling process.
func (c *Cluster) Start(ctx context.Context, port int) error {
	if !PortFree(port) {
		return fmt.Errorf("port %d on 127.0.0.1 is already in use: stop what uses it, or choose another port (sandbox.postgresPort, 0 picks a free one)", port)
	}
	cmd := exec.CommandContext(ctx, c.Bin.Path("pg_ctl"), "-D", c.DataDir(), "-l", c.LogFile(),
		"-o", fmt.Sprintf("-p %d", port), "-w", "-t", "60", "start")
	cmd.Dir = c.Base
	c.Owner.apply(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_ctl start failed: %w\n%s\n%s", err, strings.TrimSpace(out.String()), c.logTail())
	}
	return nil
}

// logTail returns the last lines of the server log, for error messages.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.LogFile())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "server log (" + c.LogFile() + "):\n" + strings.Join(lines, "\n")
}

// Running reports whether a live server serves the data directory, by
// asking pg_ctl (which checks postmaster.pid against a live process).
func (c *Cluster) Running(ctx context.Context) bool {
	if !c.Initialized() {
		return false
	}
	cmd := exec.CommandContext(ctx, c.Bin.Path("pg_ctl"), "-D", c.DataDir(), "status")
	cmd.Dir = c.Base
	c.Owner.apply(cmd)
	return cmd.Run() == nil
}

// Stop stops a server started with Start (fast shutdown) and waits for it.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.Running(ctx) {
		return nil
	}
	cmd := exec.CommandContext(ctx, c.Bin.Path("pg_ctl"), "-D", c.DataDir(), "-m", "fast", "-w", "-t", "60", "stop")
	cmd.Dir = c.Base
	c.Owner.apply(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_ctl stop failed: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// PostmasterPID returns the pid recorded in postmaster.pid, or 0.
func (c *Cluster) PostmasterPID() int {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// ErrNotReady is returned by WaitReady when the deadline passes.
var ErrNotReady = errors.New("server did not accept connections in time")

// WaitReady polls a TCP connection to port until the server accepts it.
// Readiness has no event to wait on, so a short poll with a deadline is used.
func WaitReady(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: 127.0.0.1:%d: %v", ErrNotReady, port, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SetHBA replaces the data directory's pg_hba.conf with content when it
// differs (keeping the file's owner and mode) and, when the server is
// running, reloads it so the rules apply to new connections at once.
func (c *Cluster) SetHBA(ctx context.Context, content string) error {
	path := filepath.Join(c.DataDir(), "pg_hba.conf")
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if string(old) == content {
		return nil
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if !c.Running(ctx) {
		return nil
	}
	cmd := exec.CommandContext(ctx, c.Bin.Path("pg_ctl"), "-D", c.DataDir(), "reload")
	cmd.Dir = c.Base
	c.Owner.apply(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_ctl reload failed: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	return nil
}
