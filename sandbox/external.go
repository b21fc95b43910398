package sandbox

import (
	"context"

	"github.com/livesync-dev/livesync-dev/dbconn"
)

// externalBackend attaches to a database someone else runs (--pg-url).
type externalBackend struct {
	url string
}

func (b *externalBackend) name() string { return "external" }

func (b *externalBackend) available(ctx context.Context) (bool, string) {
	if _, err := dbconn.ParseConfig(b.url, ""); err != nil {
		return false, err.Error()
	}
	return true, ""
}

func (b *externalBackend) running(ctx context.Context) bool {
	conn, err := dbconn.Connect(ctx, b.url, "livesync-dev")
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

func (b *externalBackend) up(ctx context.Context, _ int, _ func(string, ...any)) (pgEndpoint, error) {
	conn, err := dbconn.Connect(ctx, b.url, "livesync-dev")
	if err != nil {
		return pgEndpoint{}, err
	}
	conn.Close(ctx)
	return pgEndpoint{adminURL: b.url, url: b.url, port: portOf(b.url)}, nil
}

// down never stops someone else's database.
func (b *externalBackend) down(context.Context, bool) error { return nil }
