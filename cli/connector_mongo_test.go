package cli

import (
	"net"
	"strings"
	"testing"
)

func refusedMongoURL(t *testing.T) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "mongodb://" + addr + "/app", addr
}

// TestInsertMongoBadUsage: outbox-only flags and non-object data are usage
// errors (exit 2) before anything connects.
func TestInsertMongoBadUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{
		{"insert", "--mongo", "--channel", "c"},
		{"insert", "--mongo", "--data", "[1,2]"},
		{"insert", "--mongo", "--update", "x"},
		{"insert", "--mongo", "--update", "x", "--delete", "y"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, stderr %s", args, code, stderr)
		}
	}
}

// TestMongoCommandsWithoutMongo: insert --mongo and connector run --mongo
// say where MongoDB should come from, or name the unreachable host.
func TestMongoCommandsWithoutMongo(t *testing.T) {
	t.Chdir(t.TempDir())
	_, stderr, code := runCLI(t, "insert", "--mongo", "--data", `{"a":1}`)
	if code != 1 || !strings.Contains(stderr, "pass --mongo-url") {
		t.Errorf("no sandbox: exit %d, %s", code, stderr)
	}
	url, addr := refusedMongoURL(t)
	_, stderr, code = runCLI(t, "insert", "--mongo", "--mongo-url", url, "--data", `{"a":1}`)
	if code != 1 || !strings.Contains(stderr, addr) {
		t.Errorf("insert to a refused URL: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "connector", "run", "--mongo", "--mongo-url", url,
		"--ably-host", "127.0.0.1", "--ably-port", "1", "--ably-key", "app.key:secret")
	if code != 1 || !strings.Contains(stderr, addr) || strings.Contains(stderr, "goroutine") {
		t.Errorf("connector run --mongo on a refused URL: exit %d, %s", code, stderr)
	}
}
