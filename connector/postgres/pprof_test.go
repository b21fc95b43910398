package postgres

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
)

// TestProfileEndpoints: with Profile on, the health address serves pprof's
// index and a CPU profile over a start/stop window; with it off, neither.
func TestProfileEndpoints(t *testing.T) {
	e := newEnv(t)
	get := func(n *Node, method, path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+n.HealthAddr()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	off := startNode(t, e.options())
	if code, _ := get(off, http.MethodGet, "/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("without Profile, /debug/pprof/ answered %d, want 404", code)
	}

	opts := e.options()
	opts.Profile = true
	on := startNode(t, opts)
	if code, body := get(on, http.MethodGet, "/debug/pprof/"); code != http.StatusOK || !bytes.Contains(body, []byte("block")) {
		t.Fatalf("/debug/pprof/ answered %d: %.200s", code, body)
	}
	if code, _ := get(on, http.MethodPost, "/debug/pprof/cpu/stop"); code != http.StatusConflict {
		t.Fatalf("stop without start answered %d, want 409", code)
	}
	if code, body := get(on, http.MethodPost, "/debug/pprof/cpu/start"); code != http.StatusNoContent {
		t.Fatalf("cpu/start answered %d: %s", code, body)
	}
	code, body := get(on, http.MethodPost, "/debug/pprof/cpu/stop")
	if code != http.StatusOK {
		t.Fatalf("cpu/stop answered %d: %s", code, body)
	}
	if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
		t.Fatalf("cpu/stop did not return a gzipped profile (%d bytes): %v", len(body), err)
	}
	if code, body := get(on, http.MethodGet, "/debug/pprof/block?debug=1"); code != http.StatusOK || !bytes.Contains(body, []byte("--- contention")) {
		t.Fatalf("block profile answered %d: %.200s", code, body)
	}
}
