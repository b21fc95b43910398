package cli

import (
	"net"
	"strings"
	"testing"
)

// TestDoctorMongoUnreachable: a MongoDB URL nobody answers fails the
// reachability check naming the host, with exit 1 and one JSON document,
// never a panic or a stack trace.
func TestDoctorMongoUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // now refused
	t.Chdir(t.TempDir())
	stdout, stderr, code := runCLI(t, "doctor", "--mongo-url", "mongodb://u:secret@"+addr+"/app", "--json")
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	doc := parseDoctor(t, stdout)
	var found bool
	for _, c := range doc.Checks {
		if c.ID == "mongo.reachable" {
			found = true
			if c.Status != "fail" || !strings.Contains(c.Detail, addr) {
				t.Errorf("reachable check %+v, want a fail naming %s", c, addr)
			}
		}
	}
	if !found || doc.OK {
		t.Errorf("doc %+v", doc)
	}
	if strings.Contains(stdout+stderr, "secret") || strings.Contains(stderr, "goroutine") {
		t.Errorf("password or stack trace in output:\n%s\n%s", stdout, stderr)
	}
	if _, stderr, code := runCLI(t, "doctor", "--mongo-url", "mongodb://"+addr+"/app", "--pg-url", "postgres://x@127.0.0.1:1/db"); code != 2 || !strings.Contains(stderr, "one database per run") {
		t.Errorf("both URLs: exit %d %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "doctor", "--mongo-url", "mongodb://h:1/app?replicaSet=")
	if code == 0 || strings.Contains(stderr, "goroutine") {
		t.Errorf("bad URL: exit %d %s", code, stderr)
	}
}
