package sandbox

import (
	"context"
	"net"
	"strings"
	"testing"
)

// refusedAddr is a loopback address nobody listens on.
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestMongoUnavailableSaysWhyAndHow: without --mongo-url, a Docker engine or
// mongod, Mongo is unavailable with each backend's reason and how to
// enable one.
func TestMongoUnavailableSaysWhyAndHow(t *testing.T) {
	if bin, _ := findMongod(); bin != "" {
		t.Skip("a mongod is installed here (" + bin + "): the unavailable path cannot be shown")
	}
	t.Setenv("PATH", t.TempDir())
	st := ensureMongo(context.Background(), t.TempDir(), Options{Docker: "docker-not-installed"}, MongoState{})
	if st.Available || st.URL != "" {
		t.Fatalf("state %+v", st)
	}
	for _, want := range []string{"compose: ", "native: mongod not found", "--mongo-url", "install mongod"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("reason %q lacks %q", st.Reason, want)
		}
	}
}

// TestMongoURLUnreachable: a --mongo-url nobody answers is unavailable,
// naming the host and hiding the password.
func TestMongoURLUnreachable(t *testing.T) {
	addr := refusedAddr(t)
	st := ensureMongo(context.Background(), t.TempDir(), Options{Mongo: MongoOptions{URL: "mongodb://u:secret@" + addr + "/app?serverSelectionTimeoutMS=500"}}, MongoState{})
	if st.Available || !strings.Contains(st.Reason, addr) || strings.Contains(st.Reason, "secret") {
		t.Errorf("state %+v", st)
	}
}

// TestMongoStatusChecksLiveness: a recorded MongoDB that stopped answering
// is reported unavailable with the command that restarts it.
func TestMongoStatusChecksLiveness(t *testing.T) {
	rec := MongoState{Available: true, URL: "mongodb://livesync_user:pw@" + refusedAddr(t) + "/livesync?directConnection=true", Backend: MongoNative}
	st := mongoStatus(context.Background(), rec)
	if st.Available || !strings.Contains(st.Reason, "sandbox up") || strings.Contains(st.Reason, ":pw@") {
		t.Errorf("state %+v", st)
	}
}

// TestMongoNative runs the native backend when a mongod is installed: the
// replica set is initiated, the connector's user can watch the collection
// and write the token collection, and down stops it.
func TestMongoNative(t *testing.T) {
	bin, why := findMongod()
	if bin == "" {
		t.Skip("no mongod: " + why)
	}
	dir := t.TempDir()
	st := ensureMongo(context.Background(), dir, Options{Docker: "docker-not-installed"}, MongoState{})
	if !st.Available || st.Backend != MongoNative {
		t.Fatalf("state %+v", st)
	}
	s := &State{dir: dir, Mongo: st}
	t.Cleanup(func() { _ = stopMongo(context.Background(), s, true) })
	if !mongoAlive(context.Background(), st.URL) {
		t.Fatal("the connector URL does not answer")
	}
}

// TestMongoDisabled: sandbox.mongo: off never starts MongoDB and says how
// to turn it back on.
func TestMongoDisabled(t *testing.T) {
	st := ensureMongo(context.Background(), t.TempDir(), Options{Mongo: MongoOptions{Disabled: true, URL: "mongodb://127.0.0.1:1/"}}, MongoState{})
	if st.Available || !strings.Contains(st.Reason, "sandbox.mongo") {
		t.Errorf("state %+v", st)
	}
}
