package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs the binary in dir and returns stdout and stderr; the process must
// finish within the timeout (a background child holding stdout would hang
// `$(livesync-dev sandbox up --json)`).
func run(t *testing.T, dir string, timeout time.Duration, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ABLY_API_KEY=", "LIVESYNC_CONFIG=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not return within %v (does a background process hold stdout?)\nstderr:\n%s", args, timeout, stderr.String())
	}
	return stdout.String(), stderr.String(), err
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSandboxUpJSONContract runs the real binary in an empty folder, the way
// a script would, and checks DESIGN's sandbox.json contract end to end.
func TestSandboxUpJSONContract(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { run(t, dir, 2*time.Minute, "sandbox", "down", "--purge") })
	stdout, stderr, err := run(t, dir, 90*time.Second, "sandbox", "up", "--json")
	if err != nil {
		t.Fatalf("sandbox up: %v\n%s", err, stderr)
	}
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if rest, _ := dec.Token(); rest != nil || dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", stdout)
	}
	if got := keys(doc); !reflect.DeepEqual(got, []string{"ably", "mongo", "postgres", "version"}) {
		t.Fatalf("top-level keys %v", got)
	}
	pg := doc["postgres"].(map[string]any)
	if got := keys(pg); !reflect.DeepEqual(got, []string{"backend", "dataDir", "running", "url"}) {
		t.Fatalf("postgres keys %v", got)
	}
	ab, ok := doc["ably"].(map[string]any)
	if !ok {
		t.Fatalf("ably = %v, want the local endpoint", doc["ably"])
	}
	for _, k := range []string{"host", "port", "tls", "key", "local", "running"} {
		if _, ok := ab[k]; !ok {
			t.Errorf("ably lacks %q: %v", k, ab)
		}
	}
	if _, isNum := ab["port"].(float64); !isNum || ab["host"] != "127.0.0.1" || ab["running"] != true {
		t.Fatalf("ably %v: want a numeric port on 127.0.0.1, running", ab)
	}
	mongo := doc["mongo"].(map[string]any)
	if mongo["available"] != false || mongo["reason"] == "" {
		t.Fatalf("mongo %v", mongo)
	}
	// The file says the same, with mode 0600, and the endpoint answers.
	fi, err := os.Stat(filepath.Join(dir, ".livesync", "sandbox.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sandbox.json: %v %v", fi, err)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(int(ab["port"].(float64))) + "/time")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("endpoint /time: %v %v", resp, err)
	}
	resp.Body.Close()

	// status --json from a subfolder finds the sandbox like git.
	sub := filepath.Join(dir, "src", "app")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	sout, serr, err := run(t, sub, 30*time.Second, "sandbox", "status", "--json")
	if err != nil {
		t.Fatalf("status: %v %s", err, serr)
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(sout), &status); err != nil {
		t.Fatal(err)
	}
	if status["postgres"].(map[string]any)["running"] != true || status["ably"].(map[string]any)["running"] != true {
		t.Fatalf("status: %s", sout)
	}

	// A second up changes nothing and restarts nothing.
	again, _, err := run(t, dir, 60*time.Second, "sandbox", "up", "--json")
	if err != nil || again != stdout {
		t.Fatalf("second up (err %v) printed a different state:\n%s\nvs\n%s", err, again, stdout)
	}

	// down leaves nothing running: the endpoint's pid and the postmaster.
	pid := int(ab["pid"].(float64))
	pgPid := postmasterPID(t, pg["dataDir"].(string))
	if _, serr, err := run(t, dir, 60*time.Second, "sandbox", "down"); err != nil {
		t.Fatalf("down: %v %s", err, serr)
	}
	for name, p := range map[string]int{"ably endpoint": pid, "postgres": pgPid} {
		if alive(p) {
			t.Errorf("%s (pid %d) still running after down", name, p)
		}
	}
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	p, _ := strconv.Atoi(first)
	return p
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}
