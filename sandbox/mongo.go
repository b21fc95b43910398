package sandbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/compose"
	mongoconn "github.com/livesync-dev/livesync-dev/connector/mongo"
)

// Mongo backends, in the order they are tried.
const (
	// MongoExternal is --mongo-url.
	MongoExternal = "external"
	// MongoCompose is the compose file's single-node replica set.
	MongoCompose = "compose"
	// MongoNative is a mongod found on the machine, run with --replSet and
	// initiated automatically.
	MongoNative = "native"
)

// MongoOptions say how the sandbox provides MongoDB (a field of Options).
type MongoOptions struct {
	// URL attaches to an existing replica set (mongodb://...).
	URL string
	// Database and Collection are the watched namespace (livesync, events).
	Database, Collection string
	// PrePostImages enables changeStreamPreAndPostImages on the collection
	// (when the rule uses whenAvailable).
	PrePostImages bool
	// Disabled skips MongoDB altogether (reason: "disabled").
	Disabled bool
}

// mongoHowTo says how to make MongoDB available.
const mongoHowTo = "to enable it: pass --mongo-url mongodb://HOST:27017/?replicaSet=rs0, start a Docker engine (compose runs a single-node replica set), or install mongod (MongoDB Community Server) on PATH"

// mongoTimeout bounds reaching a MongoDB server.
const mongoTimeout = 10 * time.Second

// ensureMongo provides MongoDB the first way that works — --mongo-url,
// compose, native mongod — provisioning the connector's user and roles,
// or says why none does and how to enable one. A running recorded backend
// is reused. Postgres and the endpoint never depend on it.
func ensureMongo(ctx context.Context, dir string, opts Options, prev MongoState) MongoState {
	o := opts.Mongo
	if o.Database == "" {
		o.Database = "livesync"
	}
	if o.Collection == "" {
		o.Collection = "events"
	}
	if o.Disabled {
		return MongoState{Reason: "disabled by sandbox.mongo: off; set it to auto to enable MongoDB"}
	}
	out := opts.progress()
	if o.URL != "" {
		client, err := mongoconn.Dial(ctx, o.URL, mongoTimeout)
		if err != nil {
			return MongoState{Reason: fmt.Sprintf("--mongo-url %s is unreachable: %s", redactMongoURL(o.URL), shortMongoError(err))}
		}
		defer client.Disconnect(context.WithoutCancel(ctx))
		fmt.Fprintf(out, "mongo: using --mongo-url (external; not provisioned)\n")
		return MongoState{Available: true, URL: o.URL, Backend: MongoExternal}
	}
	var tried []string
	if prev.Available && prev.Backend != MongoExternal {
		if mongoAlive(ctx, prev.URL) {
			return prev
		}
	}
	if ok, why := composeMongoAvailable(ctx, opts); ok {
		st, err := upComposeMongo(ctx, dir, opts, o)
		if err == nil {
			fmt.Fprintf(out, "mongo: using the compose backend (single-node replica set)\n")
			return st
		}
		tried = append(tried, "compose: "+shortMongoError(err))
	} else {
		tried = append(tried, "compose: "+why)
	}
	if bin, why := findMongod(); bin != "" {
		st, err := upNativeMongo(ctx, dir, bin, o, out)
		if err == nil {
			fmt.Fprintf(out, "mongo: using the native backend (%s --replSet)\n", bin)
			return st
		}
		tried = append(tried, "native: "+shortMongoError(err))
	} else {
		tried = append(tried, "native: "+why)
	}
	return MongoState{Reason: "no MongoDB replica set: " + strings.Join(tried, "; ") + "; " + mongoHowTo}
}

// mongoAlive reports whether url answers a ping.
func mongoAlive(ctx context.Context, url string) bool {
	c, err := mongoconn.Dial(ctx, url, 3*time.Second)
	if err != nil {
		return false
	}
	_ = c.Disconnect(context.WithoutCancel(ctx))
	return true
}

func composeMongoAvailable(ctx context.Context, opts Options) (bool, string) {
	d := opts.Docker
	if d == "" {
		d = "docker"
	}
	if ok, why := compose.EngineAvailable(ctx, d); !ok {
		return false, why
	}
	return compose.ComposeAvailable(ctx, d)
}

// upComposeMongo starts the compose mongo service (its healthcheck
// initiates the replica set) and provisions it.
func upComposeMongo(ctx context.Context, dir string, opts Options, o MongoOptions) (MongoState, error) {
	r := newComposeBackend(dir, opts).runner
	if err := r.Up(ctx, compose.Mongo); err != nil {
		return MongoState{}, err
	}
	port, err := r.Port(ctx, compose.Mongo, 27017)
	if err != nil {
		return MongoState{}, err
	}
	admin := fmt.Sprintf("mongodb://127.0.0.1:%d/?directConnection=true", port)
	url, err := provisionMongo(ctx, admin, port, o)
	if err != nil {
		return MongoState{}, err
	}
	return MongoState{Available: true, URL: url, Backend: MongoCompose}, nil
}

// mongoStatus checks a recorded MongoDB by connecting: one that does not
// answer is reported unavailable, saying how to bring it back.
func mongoStatus(ctx context.Context, m MongoState) MongoState {
	if !m.Available || mongoAlive(ctx, m.URL) {
		return m
	}
	return MongoState{Reason: fmt.Sprintf("the recorded MongoDB (%s, %s) is not answering: run `livesync-dev sandbox up` to start it again", m.Backend, redactMongoURL(m.URL))}
}

// stopMongo stops a native mongod the sandbox started (compose is stopped
// with the compose project; external is never touched).
func stopMongo(ctx context.Context, st *State, purge bool) error {
	switch st.Mongo.Backend {
	case MongoNative:
		return downNativeMongo(ctx, st.dir, purge)
	case MongoCompose:
		if st.Postgres.Backend != "compose" { // else the Postgres backend's down stops the project
			return newComposeBackend(st.dir, Options{}).runner.Down(ctx, purge)
		}
	}
	return nil
}

func shortMongoError(err error) string {
	s := err.Error()
	if i := strings.Index(s, ", current topology:"); i > 0 {
		s = s[:i]
	}
	return s
}

// redactMongoURL hides the password of a URL.
func redactMongoURL(u string) string {
	at := strings.Index(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	cred := u[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return u[:scheme+3] + cred[:i] + ":xxxxx" + u[at:]
	}
	return u
}
