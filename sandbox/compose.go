package sandbox

import (
	"context"
	"path/filepath"
	"strconv"

	"github.com/livesync-dev/livesync-dev/compose"
	"github.com/livesync-dev/livesync-dev/dbconn"
)

// composePassword is the compose Postgres superuser's password (loopback only).
const composePassword = "livesync"

// composeBackend runs a bare Postgres 16 with `docker compose`; the schema is
// provisioned by the same Go code as every other backend.
type composeBackend struct {
	runner compose.Runner
	fixed  int
}

func newComposeBackend(dir string, opts Options) *composeBackend {
	d := opts.Docker
	if d == "" {
		d = "docker"
	}
	return &composeBackend{
		runner: compose.Runner{
			Project: compose.ProjectName(dir),
			Dir:     filepath.Join(dir, DirName, "compose"),
			Docker:  d,
			Output:  opts.Progress,
			Env:     map[string]string{compose.EnvPostgresPassword: composePassword},
		},
		fixed: opts.PostgresPort,
	}
}

func (b *composeBackend) name() string { return "compose" }

func (b *composeBackend) available(ctx context.Context) (bool, string) {
	if ok, why := compose.EngineAvailable(ctx, b.runner.Docker); !ok {
		return false, why
	}
	return compose.ComposeAvailable(ctx, b.runner.Docker)
}

func (b *composeBackend) endpoint(port int) pgEndpoint {
	return pgEndpoint{
		adminURL: superURL("postgres", composePassword, port, "postgres"),
		url:      roleURL("127.0.0.1", port, Database),
		port:     port,
	}
}

func (b *composeBackend) running(ctx context.Context) bool {
	port, err := b.runner.Port(ctx, compose.Postgres, 5432)
	if err != nil {
		return false
	}
	conn, err := dbconn.Connect(ctx, b.endpoint(port).adminURL, "livesync-dev")
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

func (b *composeBackend) up(ctx context.Context, preferred int, _ func(string, ...any)) (pgEndpoint, error) {
	port := b.fixed
	if port == 0 {
		port = preferred
	}
	if port != 0 {
		b.runner.Env[compose.EnvPostgresPort] = strconv.Itoa(port)
	}
	if err := b.runner.Up(ctx, compose.Postgres); err != nil {
		return pgEndpoint{}, err
	}
	got, err := b.runner.Port(ctx, compose.Postgres, 5432)
	if err != nil {
		return pgEndpoint{}, err
	}
	return b.endpoint(got), nil
}

func (b *composeBackend) down(ctx context.Context, purge bool) error {
	return b.runner.Down(ctx, purge)
}
