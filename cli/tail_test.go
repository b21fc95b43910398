package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
)

// writeSandboxWithAbly writes a sandbox.json recording a local endpoint in
// a fresh folder and makes it the working directory.
func writeSandboxWithAbly(t *testing.T, addr, key string) {
	t.Helper()
	dir := t.TempDir()
	host, port, _ := strings.Cut(addr, ":")
	state := fmt.Sprintf(`{"version":1,"postgres":{"url":"postgres://127.0.0.1:1/none?sslmode=disable","backend":"external","running":false,"dataDir":""},
"ably":{"host":%q,"port":%s,"tls":false,"key":%q,"local":true,"running":true},"mongo":{"available":false}}`, host, port, key)
	if err := os.MkdirAll(filepath.Join(dir, ".livesync"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".livesync", "sandbox.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
}

// readLine reads one line or fails after a generous deadline.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		got <- line
	}()
	select {
	case l := <-got:
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("no line arrived")
	}
	return ""
}

func TestTailJSONLines(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := ablylocal.Start(ctx, ablylocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	key := srv.Keys()[0].String()
	writeSandboxWithAbly(t, srv.Addr(), key)

	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	root := NewRootCommand(outW, errW)
	root.SetArgs([]string{"tail", "orders", "--json"})
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		outW.Close()
		errW.Close()
		done <- err
	}()
	stdout, stderr := bufio.NewReader(outR), bufio.NewReader(errR)
	if line := readLine(t, stderr); !strings.HasPrefix(line, "attached: orders") {
		t.Fatalf("stderr %q; want the attached line", line)
	}
	go io.Copy(io.Discard, stderr) //nolint:errcheck // drain

	rest, err := ably.NewREST(ablylocal.ClientOptions(srv.Addr(), key)...)
	if err != nil {
		t.Fatal(err)
	}
	msg := &ably.Message{ID: "42", Name: "created", Data: map[string]any{"id": 1},
		Extras: map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m1"}}}
	if err := rest.Channels.Get("orders").PublishMultiple(ctx, []*ably.Message{msg}); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	raw := readLine(t, stdout)
	if err := json.Unmarshal([]byte(raw), &line); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	data, _ := line["data"].(map[string]any)
	headers, _ := line["headers"].(map[string]any)
	if line["channel"] != "orders" || line["id"] != "42" || line["name"] != "created" || data["id"] != float64(1) ||
		headers["x-ably-models-event-uuid"] != "m1" || line["timestamp"] == nil || line["connectionId"] == nil {
		t.Fatalf("line %v", line)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail ended with %v", err)
	}
}

func TestTailWithoutEndpoint(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("ABLY_API_KEY", "")
	_, stderr, code := runCLI(t, "tail", "orders")
	if code != 1 || !strings.Contains(stderr, "no Ably endpoint") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, _, code := runCLI(t, "tail"); code != 2 {
		t.Fatalf("tail without channels: exit %d; want 2", code)
	}
}

// TestTailUnreachableSaysWhyWithoutTheKey (issue 12, item 6): an endpoint
// that cannot be reached ends the tail with the host and the reason, and
// neither ably-go's log lines nor the error show the key secret.
func TestTailUnreachableSaysWhyWithoutTheKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every connection is refused
	writeSandboxWithAbly(t, addr, "app.key:secretvalue")
	stdout, stderr, code := runCLI(t, "tail", "x")
	if code != 1 || !strings.Contains(stderr, "cannot reach "+addr+": connection refused") {
		t.Fatalf("exit %d, stderr %q; want the host and \"connection refused\"", code, stderr)
	}
	if strings.Contains(stdout+stderr, "secretvalue") {
		t.Fatalf("the key secret was printed:\n%s\n%s", stdout, stderr)
	}
}

// TestTailRefusesChannelsAblyRefuses: tail applies the same channel rules
// as insert and the endpoint.
func TestTailRefusesChannelsAblyRefuses(t *testing.T) {
	_, stderr, code := runCLI(t, "tail", "[x]y")
	if code != 2 || !strings.Contains(stderr, "must not start with '['") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
