package conformance

import (
	"os"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/testbin"
)

// binary is the livesync-dev command, built once per test binary.
func binary(t *testing.T) string { return testbin.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}
