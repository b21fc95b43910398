package sandbox

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// Database is the sandbox database name on backends that livesync-dev runs.
const Database = "livesync"

// RolePassword is the sandbox role's password. The sandbox listens on
// loopback only; this is not a secret.
const RolePassword = "livesync"

// pgEndpoint is what a backend reports once Postgres is up.
type pgEndpoint struct {
	// adminURL connects with the privileges needed to provision.
	adminURL string
	// url is the contract URL (the connector's role).
	url string
	// dataDir is the data directory, if the backend has one.
	dataDir string
	// port is the TCP port on 127.0.0.1.
	port int
}

// pgBackend is one way of running Postgres.
type pgBackend interface {
	// name is the contract's backend name.
	name() string
	// available says whether the backend can be used here, and if not why.
	available(ctx context.Context) (bool, string)
	// up starts the database (initialising it if needed) on preferredPort
	// when it is non-zero and free.
	up(ctx context.Context, preferredPort int, warn func(string, ...any)) (pgEndpoint, error)
	// running reports whether the database is served now.
	running(ctx context.Context) bool
	// down stops what the backend started; purge also deletes the data.
	down(ctx context.Context, purge bool) error
}

// roleURL builds the contract URL for the sandbox role on port.
func roleURL(host string, port int, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("livesync_user", RolePassword),
		Host:     host + ":" + strconv.Itoa(port),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// portOf returns the port of a postgres URL, or 0.
func portOf(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

func superURL(user, password string, port int, db string) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("127.0.0.1:%d", port), Path: "/" + db, RawQuery: "sslmode=disable"}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}
