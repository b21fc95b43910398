package sandbox

import "context"

// embeddedBackend would run embedded-postgres (not wired yet).
type embeddedBackend struct {
	dir string
}

func newEmbeddedBackend(dir string, opts Options) *embeddedBackend {
	return &embeddedBackend{dir: dir}
}

func (b *embeddedBackend) name() string { return "embedded" }

func (b *embeddedBackend) available(ctx context.Context) (bool, string) {
	return false, "not wired yet"
}

func (b *embeddedBackend) running(ctx context.Context) bool { return false }

func (b *embeddedBackend) up(ctx context.Context, _ int, _ func(string, ...any)) (pgEndpoint, error) {
	return pgEndpoint{}, ErrNoBackend
}

func (b *embeddedBackend) down(ctx context.Context, purge bool) error { return nil }
