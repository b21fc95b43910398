package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Binaries locates one PostgreSQL installation's server programs.
type Binaries struct {
	// Dir is the directory that holds initdb, pg_ctl and postgres.
	Dir string
	// Major is the major version, e.g. 15.
	Major int
	// Version is the full version text, e.g. "15.18".
	Version string
}

// Path returns the full path of one program of the installation.
func (b Binaries) Path(program string) string { return filepath.Join(b.Dir, program) }

// ErrNoBinaries says that no PostgreSQL server installation was found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (looked on PATH, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin and Homebrew); install them, e.g. `apt-get install postgresql` or `brew install postgresql@16`")

// candidateDirs lists directories that may hold initdb and pg_ctl, most
// preferred first.
func candidateDirs() []string {
	var dirs []string
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",
		"/usr/pgsql-*/bin",
		"/opt/homebrew/opt/postgresql@*/bin",
		"/usr/local/opt/postgresql@*/bin",
		"/opt/homebrew/opt/postgresql/bin",
		"/usr/local/opt/postgresql/bin",
	} {
		matches, _ := filepath.Glob(pattern)
		sort.Slice(matches, func(i, j int) bool { return versionOfPath(matches[i]) > versionOfPath(matches[j]) })
		dirs = append(dirs, matches...)
	}
	return dirs
}

var digits = regexp.MustCompile(`(\d+)`)

func versionOfPath(p string) int {
	m := digits.FindAllString(p, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1])
	return n
}

// FindBinaries returns the first complete installation (initdb, pg_ctl and
// postgres present), preferring one on PATH, then the newest under the usual
// directories.
func FindBinaries(ctx context.Context) (Binaries, error) {
	seen := map[string]bool{}
	for _, dir := range candidateDirs() {
		if seen[dir] {
			continue
		}
		seen[dir] = true
		ok := true
		for _, prog := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, prog)); err != nil || st.IsDir() {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		b, err := probe(ctx, dir)
		if err != nil {
			continue
		}
		return b, nil
	}
	return Binaries{}, ErrNoBinaries
}

var versionRe = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// probe runs `postgres --version` in dir.
func probe(ctx context.Context, dir string) (Binaries, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("%s --version: %w", filepath.Join(dir, "postgres"), err)
	}
	m := versionRe.FindStringSubmatch(string(out))
	if m == nil {
		return Binaries{}, fmt.Errorf("cannot read a version from %q", strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	return Binaries{Dir: dir, Major: major, Version: m[0]}, nil
}
