package doctor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	mongoconn "github.com/livesync-dev/livesync-dev/connector/mongo"
)

// checkTopology: change streams need a replica set or a sharded cluster,
// and MongoDB ≥ 4.0; it reports whether later checks apply.
func (r *mongoRun) checkTopology(ctx context.Context) bool {
	admin := r.client.Database("admin")
	var hello struct {
		SetName string `bson:"setName"`
		Msg     string `bson:"msg"`
	}
	c := Check{ID: "mongo.topology", Title: "replica set or sharded cluster", Status: OK}
	if err := admin.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		c.Status, c.Detail = Fail, "hello failed: "+firstLine(err)
		r.add(c)
		return false
	}
	switch {
	case hello.SetName != "":
		c.Detail = "replica set " + hello.SetName
	case hello.Msg == "isdbgrid":
		c.Detail = "sharded cluster (mongos)"
	default:
		c.Status, c.Detail = Fail, "a standalone server: change streams only work on a replica set or a sharded cluster"
		c.Fix = "# restart mongod with --replSet rs0, then in mongosh:\nrs.initiate()"
	}
	r.add(c)

	var info struct {
		Version string `bson:"version"`
	}
	v := Check{ID: "mongo.version", Title: "MongoDB version ≥ 4.0", Status: OK}
	if err := admin.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		v.Status, v.Detail = Warn, "buildInfo failed: "+firstLine(err)
	} else {
		r.version = parseVersion(info.Version)
		v.Detail = info.Version
		if !versionAtLeast(r.version, 4, 0) {
			v.Status, v.Detail = Fail, info.Version+": collection change streams with resume tokens need 4.0 or later"
			v.Fix = "# upgrade MongoDB to 6.0 or later (pre/post images need 6.0)"
		}
	}
	r.add(v)
	return c.Status == OK
}

func parseVersion(s string) []int {
	var out []int
	for _, p := range strings.SplitN(s, ".", 3) {
		n, _ := strconv.Atoi(strings.TrimFunc(p, func(r rune) bool { return r < '0' || r > '9' }))
		out = append(out, n)
	}
	return out
}

func versionAtLeast(v []int, major, minor int) bool {
	if len(v) < 2 {
		return true // unknown: do not fail on it
	}
	return v[0] > major || (v[0] == major && v[1] >= minor)
}

// checkChangeStream opens the rule's change stream once (with its
// pipeline and options) and reads one batch.
func (r *mongoRun) checkChangeStream(ctx context.Context) {
	c := Check{ID: "mongo.changestream", Title: "change stream on " + r.ns(), Status: OK, Detail: "opened with the rule's pipeline and options"}
	if !r.pipelineOK {
		return
	}
	pipeline, _ := mongoconn.ParsePipeline(r.p.Pipeline)
	o := mongoconn.ChangeStreamOptions(mongoconn.StreamParams{FullDocument: r.p.FullDocument, FullDocumentBeforeChange: r.p.FullDocumentBeforeChange}).
		SetMaxAwaitTime(100 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, r.p.Timeout)
	defer cancel()
	cs, err := r.client.Database(r.p.Database).Collection(r.p.Collection).Watch(cctx, pipeline, o)
	if err == nil {
		cs.TryNext(cctx)
		err = cs.Err()
		_ = cs.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		c.Status, c.Detail = Fail, "cannot open it: "+firstLine(err)
		if unauthorized(err) {
			c.Fix = fmt.Sprintf(`db.getSiblingDB(%q).createRole({role: "livesyncConnector", privileges: [
  {resource: {db: %q, collection: %q}, actions: ["find", "changeStream"]},
  {resource: {db: %q, collection: "ably"}, actions: ["find", "insert", "update", "remove"]}], roles: []})
db.getSiblingDB(%q).grantRolesToUser("<user>", ["livesyncConnector"])`, r.p.Database, r.p.Database, r.p.Collection, r.p.Database, r.p.Database)
		}
	}
	r.add(c)
}

// unauthorized reports MongoDB's Unauthorized (13).
func unauthorized(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(13)
}

// checkPrePostImages: whenAvailable needs changeStreamPreAndPostImages on
// the collection (MongoDB ≥ 6.0).
func (r *mongoRun) checkPrePostImages(ctx context.Context) {
	if r.p.FullDocument != mongoconn.FullDocWhenAvailable && r.p.FullDocumentBeforeChange != mongoconn.FullDocWhenAvailable {
		return
	}
	c := Check{ID: "mongo.prepostimages", Title: "pre/post images on " + r.ns(), Status: OK, Detail: "changeStreamPreAndPostImages is enabled"}
	fix := fmt.Sprintf(`db.getSiblingDB(%q).runCommand({collMod: %q, changeStreamPreAndPostImages: {enabled: true}})`, r.p.Database, r.p.Collection)
	specs, err := r.client.Database(r.p.Database).ListCollectionSpecifications(ctx, bson.D{{Key: "name", Value: r.p.Collection}})
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, "cannot list collections: "+firstLine(err)
	case len(specs) == 0:
		c.Status, c.Detail = Fail, "the collection does not exist, so pre/post images cannot be enabled"
		c.Fix = fmt.Sprintf(`db.getSiblingDB(%q).createCollection(%q, {changeStreamPreAndPostImages: {enabled: true}})`, r.p.Database, r.p.Collection)
	default:
		enabled, _ := specs[0].Options.Lookup("changeStreamPreAndPostImages", "enabled").BooleanOK()
		if !enabled {
			c.Status, c.Fix = Fail, fix
			c.Detail = "whenAvailable is configured but changeStreamPreAndPostImages is off: events carry no pre/post image"
		}
	}
	r.add(c)
}

// checkTokenStore writes and removes a probe document in the "ably"
// collection, where the connector keeps its resume token.
func (r *mongoRun) checkTokenStore(ctx context.Context) {
	c := Check{ID: "mongo.tokenstore", Title: r.p.Database + "." + mongoconn.TokenCollection + " writable (resume tokens)", Status: OK, Detail: "insert, update and delete work"}
	coll := r.client.Database(r.p.Database).Collection(mongoconn.TokenCollection)
	id := bson.D{{Key: "_id", Value: "livesync-dev-doctor-probe"}}
	_, err := coll.ReplaceOne(ctx, id, bson.D{{Key: "probe", Value: true}}, options.Replace().SetUpsert(true))
	if err == nil {
		_, err = coll.DeleteOne(ctx, id)
	}
	if err != nil {
		c.Status, c.Detail = Fail, "cannot write: "+firstLine(err)+" (error 72007 at run time: the stream replays more after each restart)"
		c.Fix = fmt.Sprintf(`db.getSiblingDB(%q).grantRolesToUser("<user>", [{role: "readWrite", db: %q}])  // or a role with find/insert/update/remove on %q.ably`, r.p.Database, r.p.Database, r.p.Database)
	}
	r.add(c)
}
