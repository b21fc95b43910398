package sandbox

import "context"

// composeBackend runs Postgres 16 through docker compose (wired to package
// compose once it lands).
type composeBackend struct {
	dir    string
	docker string
}

func newComposeBackend(dir string, opts Options) *composeBackend {
	d := opts.Docker
	if d == "" {
		d = "docker"
	}
	return &composeBackend{dir: dir, docker: d}
}

func (b *composeBackend) name() string { return "compose" }

func (b *composeBackend) available(ctx context.Context) (bool, string) {
	return false, "not wired yet"
}

func (b *composeBackend) running(ctx context.Context) bool { return false }

func (b *composeBackend) up(ctx context.Context, _ int, _ func(string, ...any)) (pgEndpoint, error) {
	return pgEndpoint{}, ErrNoBackend
}

func (b *composeBackend) down(ctx context.Context, purge bool) error { return nil }
