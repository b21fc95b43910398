package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/pgcluster"
)

// RootClusterRoot is where clusters live when livesync-dev runs as root: a
// directory the postgres user can reach, keyed by a hash of the project.
const RootClusterRoot = "/var/lib/livesync-dev"

// sandboxHBA is the native sandbox's pg_hba.conf: the role applications use
// (and every other role) must give its password (scram-sha-256), as in
// production; only the superuser the tool itself uses is trusted, and only
// on loopback TCP.
const sandboxHBA = `# written by livesync-dev: loopback TCP only
# TYPE  DATABASE  USER      ADDRESS        METHOD
host    all       postgres  127.0.0.1/32   trust
host    all       postgres  ::1/128        trust
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
`

// nativeBackend runs Postgres from the machine's server binaries.
type nativeBackend struct {
	project string
	fixed   int // a port the user asked for, 0 = any
	bin     pgcluster.Binaries
	binErr  error
	owner   pgcluster.Owner
	cluster *pgcluster.Cluster
}

func newNativeBackend(ctx context.Context, project string, fixedPort int) *nativeBackend {
	b := &nativeBackend{project: project, fixed: fixedPort}
	b.bin, b.binErr = findBinaries(ctx)
	if b.binErr != nil {
		return b
	}
	b.owner, b.binErr = pgcluster.CurrentOwner()
	if b.binErr != nil {
		return b
	}
	b.cluster = &pgcluster.Cluster{Bin: b.bin, Base: nativeBase(project, b.owner), Owner: b.owner, TimeZone: "UTC", Fsync: true}
	return b
}

// nativeBase is the cluster's base directory for a project.
func nativeBase(project string, owner pgcluster.Owner) string {
	if !owner.Switch {
		return filepath.Join(project, DirName, "pg")
	}
	sum := sha256.Sum256([]byte(project))
	return filepath.Join(RootClusterRoot, hex.EncodeToString(sum[:8]))
}

func (b *nativeBackend) name() string { return "native" }

func (b *nativeBackend) available(ctx context.Context) (bool, string) {
	if b.binErr != nil {
		return false, b.binErr.Error()
	}
	return true, ""
}

func (b *nativeBackend) running(ctx context.Context) bool {
	return b.cluster != nil && b.cluster.Running(ctx)
}

// runningPort reads the port of a running server from postmaster.pid.
func (b *nativeBackend) runningPort() int { return portFromPidFile(b.cluster.DataDir()) }

// portFromPidFile reads the port (fourth line) of a data directory's
// postmaster.pid.
func portFromPidFile(dataDir string) int {
	data, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 4 {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(lines[3]))
	return p
}

func (b *nativeBackend) up(ctx context.Context, preferred int, warn func(string, ...any)) (ep pgEndpoint, err error) {
	if b.binErr != nil {
		return pgEndpoint{}, b.binErr
	}
	c := b.cluster
	if b.owner.Switch {
		if err := os.MkdirAll(RootClusterRoot, 0o755); err != nil {
			return pgEndpoint{}, fmt.Errorf("creating %s: %w", RootClusterRoot, err)
		}
	}
	if !c.Initialized() {
		if err := c.Init(ctx); err != nil {
			os.RemoveAll(c.Base) // nothing half-written
			return pgEndpoint{}, err
		}
		// A cluster made by this call is removed again if it cannot start,
		// so a failed first `sandbox up` leaves nothing behind.
		defer func() {
			if err != nil {
				os.RemoveAll(c.Base)
			}
		}()
	} else if err := c.CheckVersion(); err != nil {
		return pgEndpoint{}, err
	}
	if err := c.SetHBA(ctx, sandboxHBA); err != nil {
		return pgEndpoint{}, err
	}
	port := 0
	if c.Running(ctx) {
		port = b.runningPort()
	} else {
		switch {
		case b.fixed != 0:
			port = b.fixed // Start says clearly when it is in use
		case preferred != 0 && pgcluster.PortFree(preferred):
			port = preferred
		default:
			p, err := pgcluster.FreePort()
			if err != nil {
				return pgEndpoint{}, err
			}
			if preferred != 0 {
				warn("port %d is no longer free; Postgres now listens on %d (update URLs you copied)", preferred, p)
			}
			port = p
		}
		if err := c.Start(ctx, port); err != nil {
			return pgEndpoint{}, err
		}
	}
	return pgEndpoint{
		adminURL: superURL("postgres", "", port, "postgres"),
		url:      roleURL("127.0.0.1", port, Database),
		dataDir:  c.DataDir(),
		port:     port,
	}, nil
}

func (b *nativeBackend) down(ctx context.Context, purge bool) error {
	if b.cluster == nil {
		return nil
	}
	if err := b.cluster.Stop(ctx); err != nil {
		return err
	}
	if purge {
		return os.RemoveAll(b.cluster.Base)
	}
	return nil
}
