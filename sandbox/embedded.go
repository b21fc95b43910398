package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	embeddedpostgres "github.com/fergusstrange/embedded-postgres"

	"github.com/livesync-dev/livesync-dev/pgcluster"
)

// embeddedAdminPassword is the embedded server's superuser password (the
// library always uses password authentication; loopback only).
const embeddedAdminPassword = "livesync-admin"

// DefaultEmbeddedRepository is Maven Central, where embedded-postgres finds
// its server binaries.
const DefaultEmbeddedRepository = "https://repo1.maven.org/maven2"

// embeddedBackend runs a Postgres whose binaries embedded-postgres downloads
// (zonky jars from a Maven repository) into .livesync/embedded.
type embeddedBackend struct {
	dir        string
	version    string
	repository string
	fixed      int
}

func newEmbeddedBackend(dir string, opts Options) *embeddedBackend {
	v := opts.PostgresVersion
	if v == "" {
		v = "16"
	}
	repo := opts.EmbeddedRepository
	if repo == "" {
		repo = DefaultEmbeddedRepository
	}
	return &embeddedBackend{dir: dir, version: v, repository: repo, fixed: opts.PostgresPort}
}

func (b *embeddedBackend) name() string { return "embedded" }

func (b *embeddedBackend) base() string { return filepath.Join(b.dir, DirName, "embedded") }

// cluster describes the embedded data directory so that pg_ctl (from the
// extracted binaries) can check and stop it from any process.
func (b *embeddedBackend) cluster() *pgcluster.Cluster {
	return &pgcluster.Cluster{
		Bin:   pgcluster.Binaries{Dir: filepath.Join(b.base(), "binaries", "bin")},
		Base:  b.base(),
		Owner: pgcluster.Owner{UID: os.Geteuid(), GID: os.Getegid()},
	}
}

// libraryVersion maps a major version to the library's release constant.
func (b *embeddedBackend) libraryVersion() (embeddedpostgres.PostgresVersion, error) {
	for _, v := range []embeddedpostgres.PostgresVersion{
		embeddedpostgres.V18, embeddedpostgres.V17, embeddedpostgres.V16, embeddedpostgres.V15,
		embeddedpostgres.V14, embeddedpostgres.V13, embeddedpostgres.V12,
	} {
		if strings.HasPrefix(string(v), b.version+".") {
			return v, nil
		}
	}
	return "", fmt.Errorf("the embedded backend has no Postgres %s: set sandbox.postgresVersion to 12-18", b.version)
}

func (b *embeddedBackend) available(ctx context.Context) (bool, string) {
	if os.Geteuid() == 0 {
		return false, "embedded-postgres cannot switch to the postgres user and PostgreSQL refuses to run as root; run livesync-dev as an ordinary user, or install PostgreSQL"
	}
	if _, err := b.libraryVersion(); err != nil {
		return false, err.Error()
	}
	return true, ""
}

func (b *embeddedBackend) running(ctx context.Context) bool {
	c := b.cluster()
	if _, err := os.Stat(c.Bin.Path("pg_ctl")); err != nil {
		return false
	}
	return c.Running(ctx)
}

func (b *embeddedBackend) up(ctx context.Context, preferred int, warn func(string, ...any)) (pgEndpoint, error) {
	c := b.cluster()
	version, err := b.libraryVersion()
	if err != nil {
		return pgEndpoint{}, err
	}
	if b.running(ctx) {
		port := portFromPidFile(c.DataDir())
		return b.endpoint(c, port), nil
	}
	// The library silently re-initialises a data directory of another
	// version: refuse instead, so no data is lost.
	if m, err := c.DataMajor(); err == nil && fmt.Sprint(m) != b.version {
		return pgEndpoint{}, fmt.Errorf("the embedded data directory %s was created by PostgreSQL %d, but sandbox.postgresVersion is %s: set it back to %d, or discard the data with `livesync-dev sandbox down --purge`", c.DataDir(), m, b.version, m)
	}
	port := b.fixed
	if port == 0 {
		if preferred != 0 && pgcluster.PortFree(preferred) {
			port = preferred
		} else {
			if port, err = pgcluster.FreePort(); err != nil {
				return pgEndpoint{}, err
			}
			if preferred != 0 {
				warn("port %d is no longer free; Postgres now listens on %d (update URLs you copied)", preferred, port)
			}
		}
	} else if !pgcluster.PortFree(port) {
		return pgEndpoint{}, fmt.Errorf("port %d on 127.0.0.1 is already in use: stop what uses it, or choose another port (sandbox.postgresPort, 0 picks a free one)", port)
	}
	if err := os.MkdirAll(b.base(), 0o700); err != nil {
		return pgEndpoint{}, err
	}
	logf, err := os.OpenFile(filepath.Join(b.dir, DirName, "embedded-postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return pgEndpoint{}, err
	}
	defer logf.Close()
	cfg := embeddedpostgres.DefaultConfig().
		Version(version).
		Port(uint32(port)).
		Username("postgres").Password(embeddedAdminPassword).Database("postgres").
		RuntimePath(filepath.Join(b.base(), "runtime")).
		DataPath(c.DataDir()).
		BinariesPath(filepath.Join(b.base(), "binaries")).
		CachePath(filepath.Join(b.base(), "cache") + string(os.PathSeparator)).
		BinaryRepositoryURL(b.repository).
		Locale("C.UTF-8").Encoding("UTF8").
		StartTimeout(60 * time.Second).
		Logger(io.Writer(logf)).
		StartParameters(map[string]string{
			"listen_addresses":        "127.0.0.1",
			"unix_socket_directories": "",
			"timezone":                "UTC",
			"track_commit_timestamp":  "on",
		})
	if err := embeddedpostgres.NewDatabase(cfg).Start(); err != nil {
		return pgEndpoint{}, fmt.Errorf("embedded Postgres %s did not start (binaries from %s): %w; when offline, point sandbox.embeddedRepository at a reachable mirror or install PostgreSQL", version, b.repository, err)
	}
	return b.endpoint(c, port), nil
}

func (b *embeddedBackend) endpoint(c *pgcluster.Cluster, port int) pgEndpoint {
	return pgEndpoint{
		adminURL: superURL("postgres", embeddedAdminPassword, port, "postgres"),
		url:      roleURL("127.0.0.1", port, Database),
		dataDir:  c.DataDir(),
		port:     port,
	}
}

func (b *embeddedBackend) down(ctx context.Context, purge bool) error {
	if b.running(ctx) {
		if err := b.cluster().Stop(ctx); err != nil {
			return err
		}
	}
	if purge {
		return os.RemoveAll(b.base())
	}
	return nil
}
