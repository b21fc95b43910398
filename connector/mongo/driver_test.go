package mongo

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector"
)

// testMongoURL is a replica set for the driver tests: LIVESYNC_TEST_MONGO_URL,
// else a mongod answering on 127.0.0.1:27017; the tests skip without one.
func testMongoURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("LIVESYNC_TEST_MONGO_URL"); u != "" {
		return u
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:27017", 300*time.Millisecond)
	if err != nil {
		t.Skip("no mongod: set LIVESYNC_TEST_MONGO_URL to a replica set (e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0) or run one on 127.0.0.1:27017")
	}
	c.Close()
	return "mongodb://127.0.0.1:27017/?directConnection=true"
}

// TestDriverEndToEnd runs the connector on a real mongod: an insert is
// published, the token is stored in the "ably" collection and read back,
// and a restart resumes from it.
func TestDriverEndToEnd(t *testing.T) {
	url := testMongoURL(t)
	ctx := context.Background()
	client, err := Dial(ctx, url, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer client.Disconnect(ctx)
	dbName := fmt.Sprintf("livesync_test_%d", time.Now().UnixNano())
	defer client.Database(dbName).Drop(ctx)
	d := NewDriver(client, dbName, "orders")

	e := newEnv(t)
	s := e.subscribe(t, "orders")
	o := e.options()
	o.Database, o.Source, o.Tokens = dbName, d, d
	o.FullDocument = FullDocUpdateLookup
	c := e.start(t, o)
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	coll := client.Database(dbName).Collection("orders")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "n", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, 1)
	waitState(t, c, "handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint >= 1 })
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := d.TokenLoad(ctx, "orders")
	if err != nil || tok == nil {
		t.Fatalf("stored token: %v %v", tok, err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "n", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	c2 := e.start(t, o)
	s.waitCount(t, 2)
	_ = c2.Stop(ctx)
	if got := len(s.on("orders")); got != 2 {
		t.Errorf("received %d messages, want 2", got)
	}
}
