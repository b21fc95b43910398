package monitor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// TestNodeRegistryReadsNodeState: the registry decodes what a node serves
// at connector.StatePath with the connector's own type; a node that does
// not answer is skipped.
func TestNodeRegistryReadsNodeState(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	served := connector.NodeState{Node: "n1", Kind: "postgres", Channels: []connector.ChannelState{
		{Channel: "big", Owner: "n1", Head: 7, Attempts: 1, Blocked: true, BlockedRow: 7,
			LastError: &connector.ErrorInfo{Code: 40009, StatusCode: 400, Message: "too large", Time: at}},
		{Channel: "ok", Owner: "n1", Head: 9}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != connector.StatePath {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(served)
	}))
	defer srv.Close()
	dir := t.TempDir()
	files := map[string]string{
		"n1.json":   `{"id":"n1","healthAddr":"` + strings.TrimPrefix(srv.URL, "http://") + `"}`,
		"gone.json": `{"id":"gone","healthAddr":"127.0.0.1:1"}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reg := monitor.NodeRegistry{Dir: dir}
	if ids := reg.NodeIDs(); len(ids) != 2 || ids[0] != "gone" {
		t.Fatalf("node ids %v", ids)
	}
	states, err := reg.NodeStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || len(states[0].Channels) != 2 {
		t.Fatalf("states %+v", states)
	}
	big := states[0].Channels[0]
	if !big.Blocked || big.BlockedRow != 7 || big.LastError == nil || big.LastError.Code != 40009 || !big.LastError.Time.Equal(at) {
		t.Fatalf("channel %+v", big)
	}
	if s, err := (monitor.NodeRegistry{Dir: filepath.Join(dir, "none")}).NodeStates(context.Background()); err != nil || len(s) != 0 {
		t.Fatalf("no nodes registered: %v %v", s, err)
	}
	both := monitor.Connectors{monitor.NodeStatesFunc(func(context.Context) ([]connector.NodeState, error) {
		return []connector.NodeState{{Node: "n1"}, {Node: "local"}}, nil
	}), reg}
	if s, err := both.NodeStates(context.Background()); err != nil || len(s) != 2 || len(s[0].Channels) != 0 {
		t.Fatalf("joined states %+v (%v): the in-process report of n1 wins, once", s, err)
	}
}
