package pgcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Child is a server started by StartChild.
type Child struct {
	cmd  *exec.Cmd
	done chan error
	// Port is the TCP port it listens on.
	Port int
}

// StartChild runs the postgres server as a child process of this one, on
// port, logging to the cluster's log file. The kernel kills it if this
// process dies (Pdeathsig), so a killed test binary leaves no server behind.
func (c *Cluster) StartChild(port int) (*Child, error) {
	logf, err := os.OpenFile(c.LogFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	if err := c.Owner.Chown(c.LogFile()); err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Bin.Path("postgres"), "-D", c.DataDir(), "-p", fmt.Sprint(port))
	cmd.Dir = c.Base
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	c.Owner.apply(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	ch := &Child{cmd: cmd, done: make(chan error, 1), Port: port}
	go func() { ch.done <- cmd.Wait() }()
	return ch, nil
}

// Exited returns a channel that receives the child's exit status.
func (ch *Child) Exited() <-chan error { return ch.done }

// Stop asks the server for a fast shutdown and waits for it to exit.
func (ch *Child) Stop(ctx context.Context) error {
	_ = ch.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-ch.done:
		return nil
	case <-ctx.Done():
		_ = ch.cmd.Process.Kill()
		<-ch.done
		return ctx.Err()
	}
}

// WaitReady waits until the child accepts connections or exits early.
func (ch *Child) WaitReady(ctx context.Context, c *Cluster) error {
	errc := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- WaitReady(rctx, ch.Port, time.Minute) }()
	select {
	case err := <-errc:
		return err
	case err := <-ch.done:
		ch.done <- err
		return fmt.Errorf("postgres exited during start-up (%v)\n%s", err, c.logTail())
	}
}
