package doctor

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
)

// TestMongoChecksOffline: with no server the pipeline is still validated
// (72005 for a bad one) and the unreachable host is named.
func TestMongoChecksOffline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	checks := Mongo(context.Background(), MongoParams{URL: "mongodb://" + addr + "/app", Database: "app", Collection: "c",
		Pipeline: `[{"$lookup":{}}]`})
	if len(checks) != 2 {
		t.Fatalf("checks %+v", checks)
	}
	if checks[0].ID != "mongo.pipeline" || checks[0].Status != Fail || !strings.Contains(checks[0].Detail, "72005") {
		t.Errorf("pipeline %+v", checks[0])
	}
	if checks[1].ID != "mongo.reachable" || checks[1].Status != Fail || !strings.Contains(checks[1].Detail, addr) {
		t.Errorf("reachable %+v", checks[1])
	}
	if c := Mongo(context.Background(), MongoParams{URL: "postgres://x"}); c[len(c)-1].Status != Fail {
		t.Errorf("non-Mongo URL: %+v", c)
	}
}

// TestMongoChecksAgainstMongod runs every check on a real replica set
// (LIVESYNC_TEST_MONGO_URL); it skips without one.
func TestMongoChecksAgainstMongod(t *testing.T) {
	url := os.Getenv("LIVESYNC_TEST_MONGO_URL")
	if url == "" {
		t.Skip("no mongod: set LIVESYNC_TEST_MONGO_URL to a replica set to run the MongoDB doctor checks")
	}
	checks := Mongo(context.Background(), MongoParams{URL: url, Database: "livesync_doctor_test", Collection: "events",
		Pipeline: `[{"$set":{"_ablyChannel":"x"}}]`, FullDocument: "updateLookup", FullDocumentBeforeChange: "off"})
	for _, c := range checks {
		if c.Status == Fail {
			t.Errorf("%s failed: %s", c.ID, c.Detail)
		}
	}
	if len(checks) < 6 {
		t.Errorf("only %d checks ran: %+v", len(checks), checks)
	}
}
