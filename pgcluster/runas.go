package pgcluster

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Owner is the operating-system user the server programs run as: the current
// user, or the "postgres" system user when the current user is root.
type Owner struct {
	// Name is the user name.
	Name string
	// UID and GID are the numeric ids.
	UID, GID int
	// Switch is true when commands must switch to this user.
	Switch bool
}

// CurrentOwner decides which user runs the server programs.
func CurrentOwner() (Owner, error) {
	if os.Geteuid() != 0 {
		u, _ := user.Current()
		name := strconv.Itoa(os.Geteuid())
		if u != nil {
			name = u.Username
		}
		return Owner{Name: name, UID: os.Geteuid(), GID: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return Owner{}, fmt.Errorf("running as root, but PostgreSQL refuses to run as root and there is no \"postgres\" system user to run it as: create one (e.g. `useradd --system --home /var/lib/postgresql postgres`) or run livesync-dev as an ordinary user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return Owner{Name: u.Username, UID: uid, GID: gid, Switch: true}, nil
}

// apply makes cmd run as the owner.
func (o Owner) apply(cmd *exec.Cmd) {
	if !o.Switch {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(o.UID), Gid: uint32(o.GID), NoSetGroups: true}
}

// Chown gives path to the owner (no-op unless switching users).
func (o Owner) Chown(path string) error {
	if !o.Switch {
		return nil
	}
	return os.Chown(path, o.UID, o.GID)
}

// CheckReachable verifies that the owner can traverse every parent of dir.
// It explains which directory blocks it and how to fix that; it never changes
// permissions itself.
func (o Owner) CheckReachable(dir string) error {
	if !o.Switch {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checking %s: %w", p, err)
		}
		sys, _ := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		ok := mode&0o001 != 0 ||
			(sys != nil && int(sys.Uid) == o.UID && mode&0o100 != 0) ||
			(sys != nil && int(sys.Gid) == o.GID && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("the %q user cannot reach %s: its parent directory %s (mode %04o) is not searchable by that user; PostgreSQL refuses to run as root, so its data must live where %q can reach it: choose another directory, or grant search permission with `chmod o+x %s`", o.Name, abs, p, mode, o.Name, p)
		}
		if p == "/" || p == filepath.Dir(p) {
			return nil
		}
	}
}
