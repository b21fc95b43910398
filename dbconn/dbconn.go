// Package dbconn opens Postgres connections the way every part of
// livesync-dev needs them: session time zone UTC (expiry and lock_expiry are
// timestamps without time zone holding UTC), an application name that shows
// in pg_stat_activity, and errors that say what to fix.
package dbconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ParseConfig parses a postgres:// URL (or key=value DSN) and sets the
// session parameters livesync-dev relies on.
func ParseConfig(url, appName string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("invalid Postgres URL %s: %v (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable)", Redact(url), unwrapParse(err))
	}
	setParams(cfg.RuntimeParams, appName)
	return cfg, nil
}

func setParams(p map[string]string, appName string) {
	p["timezone"] = "UTC"
	if appName == "" {
		appName = "livesync-dev"
	}
	if _, ok := p["application_name"]; !ok {
		p["application_name"] = appName
	}
}

func unwrapParse(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap()
	}
	return err
}

// Connect opens one connection.
func Connect(ctx context.Context, url, appName string) (*pgx.Conn, error) {
	cfg, err := ParseConfig(url, appName)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, Explain(url, err)
	}
	return conn, nil
}

// Pool opens a connection pool of at most maxConns connections.
func Pool(ctx context.Context, url, appName string, maxConns int32) (*pgxpool.Pool, error) {
	return PoolWith(ctx, url, appName, maxConns, nil)
}

// PoolWith is Pool with extra session parameters (for example
// statement_timeout) set on every connection at startup.
func PoolWith(ctx context.Context, url, appName string, maxConns int32, params map[string]string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("invalid Postgres URL %s: %v (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable)", Redact(url), unwrapParse(err))
	}
	setParams(cfg.ConnConfig.RuntimeParams, appName)
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, Explain(url, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, Explain(url, err)
	}
	return pool, nil
}

// Explain adds what to do to a connection error.
func Explain(url string, err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		return fmt.Errorf("cannot log in to %s: wrong password: check the user and password in the URL", Redact(url))
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return fmt.Errorf("database in %s does not exist: %s; create it or fix the URL", Redact(url), pgErr.Message)
	case errors.As(err, &pgErr) && pgErr.Code == "28000":
		return fmt.Errorf("cannot log in to %s: %s", Redact(url), pgErr.Message)
	case strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("cannot reach Postgres at %s: connection refused: is the server running and listening there? (`livesync-dev sandbox status` shows the sandbox's)", Redact(url))
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("cannot reach Postgres at %s: timed out", Redact(url))
	}
	return fmt.Errorf("cannot connect to Postgres at %s: %w", Redact(url), err)
}

// Redact hides the password in a URL for messages and logs.
func Redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	userinfo := rest[:at]
	if user, _, has := strings.Cut(userinfo, ":"); has {
		return scheme + "://" + user + ":***@" + rest[at+1:]
	}
	return url
}
