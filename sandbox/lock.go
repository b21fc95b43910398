package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lock is an exclusive lock on a project's .livesync/lock, held while a
// command changes the sandbox, so two `sandbox up` never race.
type Lock struct {
	f *os.File
}

// AcquireLock takes the project's lock, waiting up to wait. While waiting it
// says once on progress who holds it.
func AcquireLock(ctx context.Context, dir, what string, wait time.Duration, progress io.Writer) (*Lock, error) {
	d, err := ensureDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(d, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		holder := readHolder(path)
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("the sandbox in %s is busy: %s holds %s; wait for it to finish or stop it", dir, holder, path)
		}
		if !told && progress != nil {
			fmt.Fprintf(progress, "waiting for the sandbox lock held by %s\n", holder)
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond): // flock has no wait-with-context; poll
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d (%s)\n", os.Getpid(), what)), 0)
	return &Lock{f: f}, nil
}

func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return "another livesync-dev process"
	}
	return strings.TrimSpace(string(b))
}

// Release frees the lock.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
