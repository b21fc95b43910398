package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	mongoconn "github.com/livesync-dev/livesync-dev/connector/mongo"
)

// MongoParams say which MongoDB rule to check.
type MongoParams struct {
	// URL is the connection URL (mongodb:// or mongodb+srv://).
	URL string
	// Database and Collection are the watched namespace; Database defaults
	// to the URL's path.
	Database, Collection string
	// Pipeline, FullDocument and FullDocumentBeforeChange are the rule's.
	Pipeline, FullDocument, FullDocumentBeforeChange string
	// Timeout bounds reaching the server (default 8s), so an unreachable
	// host is reported within about ten seconds.
	Timeout time.Duration
}

// Mongo checks a MongoDB deployment against what the LiveSync MongoDB
// connector needs: reachable, a replica set or sharded cluster, version ≥
// 4.0, the pipeline valid, change streams allowed on the collection,
// pre/post images enabled when a whenAvailable option is configured, and
// the "ably" token collection writable. Checks that need an earlier one to
// pass are left out when it fails. Fix holds mongosh commands.
func Mongo(ctx context.Context, p MongoParams) []Check {
	r := &mongoRun{p: p}
	if r.p.Timeout <= 0 {
		r.p.Timeout = 8 * time.Second
	}
	r.checkPipeline()
	client := r.checkReachable(ctx)
	if client == nil {
		return r.checks
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
	}()
	r.client = client
	if !r.checkTopology(ctx) {
		return r.checks
	}
	r.checkChangeStream(ctx)
	r.checkPrePostImages(ctx)
	r.checkTokenStore(ctx)
	return r.checks
}

type mongoRun struct {
	p          MongoParams
	client     *mongo.Client
	checks     []Check
	pipelineOK bool
	version    []int
}

func (r *mongoRun) add(c Check) { r.checks = append(r.checks, c) }

func (r *mongoRun) ns() string { return r.p.Database + "." + r.p.Collection }

func (r *mongoRun) checkPipeline() {
	c := Check{ID: "mongo.pipeline", Title: "change-stream pipeline", Status: OK, Detail: "a JSON array of allowed stages"}
	if _, err := mongoconn.ParsePipeline(r.p.Pipeline); err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = `# set mongo.pipeline in livesync.yaml, e.g.
mongo:
  pipeline: '[{"$set":{"_ablyChannel":{"$concat":["mongo:","$ns.coll"]}}}]'`
	} else {
		r.pipelineOK = true
	}
	r.add(c)
}

// hosts lists the URL's hosts (for messages and the quick TCP probe).
func hosts(url string) ([]string, bool) {
	cs, err := connstring.Parse(url)
	if err != nil {
		return nil, false
	}
	return cs.Hosts, cs.Scheme == connstring.SchemeMongoDBSRV
}

// checkReachable probes every host over TCP first (a refused or silent
// host is reported at once, naming it), then connects and pings.
func (r *mongoRun) checkReachable(ctx context.Context) *mongo.Client {
	hs, srv := hosts(r.p.URL)
	c := Check{ID: "mongo.reachable", Title: "MongoDB reachable", Status: Fail}
	if len(hs) == 0 {
		c.Detail = "the URL is not a MongoDB connection string"
		c.Fix = "# use mongodb://user:password@host:27017/database?replicaSet=rs0"
		r.add(c)
		return nil
	}
	named := strings.Join(hs, ", ")
	if !srv {
		var errs []string
		d := net.Dialer{Timeout: min(3*time.Second, r.p.Timeout)}
		for _, h := range hs {
			conn, err := d.DialContext(ctx, "tcp", h)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s", h, shortNetError(err)))
				continue
			}
			conn.Close()
		}
		if len(errs) == len(hs) {
			c.Detail = "cannot reach MongoDB at " + strings.Join(errs, "; ")
			c.Fix = "# start the server, or check host and port in --mongo-url / mongo.url (the sandbox: livesync-dev sandbox up)"
			r.add(c)
			return nil
		}
	}
	client, err := mongoconn.Dial(ctx, r.p.URL, r.p.Timeout)
	if err != nil {
		c.Detail = fmt.Sprintf("cannot connect to %s within %s: %s", named, r.p.Timeout, firstLine(err))
		c.Fix = "# check the host, port, credentials and TLS options of the URL; a replica set URL needs ?replicaSet=NAME or directConnection=true"
		r.add(c)
		return nil
	}
	c.Status, c.Detail = OK, "connected to "+named
	r.add(c)
	return client
}

// shortNetError drops Go's "dial tcp ...:" prefix.
func shortNetError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// firstLine keeps a driver error readable (server selection errors carry
// the whole topology description).
func firstLine(err error) string {
	s := err.Error()
	if i := strings.Index(s, ", current topology:"); i > 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
