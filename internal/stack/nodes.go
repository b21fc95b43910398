package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/livesync-dev/livesync-dev/connector/postgres"
)

// NodeProcess is a connector node this sandbox runs (registered under
// .livesync/nodes) and the other nodes its process runs.
type NodeProcess struct {
	// Node is the node's registration: id, pid, health address, start.
	Node postgres.NodeRegistration
	// Siblings are the other nodes of the same process: a signal reaches
	// them too.
	Siblings []string
}

// ErrNoNodes is returned when the sandbox has no registered node.
var ErrNoNodes = errors.New("no connector node of this sandbox is registered: start one with `livesync-dev connector run` (or `livesync-dev up`)")

// FindNode returns the registered node whose id is id or starts with it.
func (s *Stack) FindNode(id string) (NodeProcess, error) {
	dir := s.StateDir()
	if dir == "" {
		return NodeProcess{}, ErrNoNodes
	}
	regs, _ := postgres.ReadRegistrations(dir)
	if len(regs) == 0 {
		return NodeProcess{}, ErrNoNodes
	}
	var match []postgres.NodeRegistration
	var ids []string
	for _, r := range regs {
		ids = append(ids, r.ID)
		if r.ID == id {
			match = []postgres.NodeRegistration{r}
			break
		}
		if id != "" && strings.HasPrefix(r.ID, id) {
			match = append(match, r)
		}
	}
	sort.Strings(ids)
	switch len(match) {
	case 0:
		return NodeProcess{}, fmt.Errorf("no connector node %q in this sandbox; its nodes are: %s", id, strings.Join(ids, ", "))
	case 1:
	default:
		return NodeProcess{}, fmt.Errorf("%q matches %d nodes: give more of the id (nodes: %s)", id, len(match), strings.Join(ids, ", "))
	}
	np := NodeProcess{Node: match[0]}
	for _, r := range regs {
		if r.PID == np.Node.PID && r.ID != np.Node.ID {
			np.Siblings = append(np.Siblings, r.ID)
		}
	}
	return np, nil
}

// SignalNode sends sig (SIGKILL, SIGSTOP or SIGCONT) to the node's process
// after checking the pid still belongs to it: alive, not this process,
// and started no later than the node registered (pids are reused). After a
// SIGKILL the node's registration is removed, as the node would have done.
func (s *Stack) SignalNode(np NodeProcess, sig syscall.Signal) error {
	pid := np.Node.PID
	if pid <= 0 {
		return fmt.Errorf("node %s registered no pid", np.Node.ID)
	}
	if pid == os.Getpid() {
		return fmt.Errorf("node %s runs in this very process (pid %d): signal it from another terminal", np.Node.ID, pid)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		s.forgetNode(np)
		return fmt.Errorf("node %s is not running (pid %d is gone); its stale registration was removed", np.Node.ID, pid)
	}
	if started, ok := processStart(pid); ok && started.After(np.Node.Started.Add(2*time.Second)) {
		return fmt.Errorf("pid %d was started at %s, after node %s registered: it is another process now (pid reused); not signalled", pid, started.UTC().Format(time.RFC3339), np.Node.ID)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signalling node %s (pid %d): %w", np.Node.ID, pid, err)
	}
	if sig == syscall.SIGKILL {
		for i := 0; i < 50 && syscall.Kill(pid, 0) == nil && !zombie(pid); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		s.forgetNode(np)
	}
	return nil
}

// forgetNode removes the registrations of np's process.
func (s *Stack) forgetNode(np NodeProcess) {
	for _, id := range append([]string{np.Node.ID}, np.Siblings...) {
		_ = os.Remove(filepath.Join(s.StateDir(), "nodes", id+".json"))
	}
}

// processStart is when pid started, from /proc (Linux); ok=false elsewhere.
func processStart(pid int) (time.Time, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return time.Time{}, false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return time.Time{}, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64) // field 22: starttime
	if err != nil {
		return time.Time{}, false
	}
	boot, ok := bootTime()
	if !ok {
		return time.Time{}, false
	}
	const clkTck = 100 // USER_HZ on every Linux platform Go supports
	return boot.Add(time.Duration(ticks) * time.Second / clkTck), true
}

// bootTime is the kernel's btime.
func bootTime() (time.Time, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(sec, 0), err == nil
		}
	}
	return time.Time{}, false
}

// zombie reports whether pid has exited and awaits its parent's wait.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}
