package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// TestMain starts the package's test Postgres (one TestMain per package).
func TestMain(m *testing.M) { pgtest.Main(m) }

// runCLI runs the command line in-process, with empty standard input, and
// returns stdout, stderr and the exit status Execute would return.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := NewRootCommand(&stdout, &stderr)
	root.SetArgs(args)
	root.SetIn(strings.NewReader(""))
	err := root.Execute()
	if err != nil {
		stderr.WriteString(err.Error())
	}
	return stdout.String(), stderr.String(), exitCode(err)
}
