package cli

import (
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// TestMain starts the package's test Postgres (one TestMain per package).
func TestMain(m *testing.M) { pgtest.Main(m) }
