package monitor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/monitor"
)

func TestNodeRegistryReadsDebugState(t *testing.T) {
	listFormat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/state" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"channels":[
		  {"channel":"big","headSequenceId":7,"attempts":3,"blocked":true,"lastError":{"code":40009,"message":"too large"}},
		  {"channel":"ok","headSequenceId":9,"attempts":0}]}`))
	}))
	defer listFormat.Close()
	mapFormat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"channels":{"rate":{"owner":"n2","headSequenceId":11,"attempts":1,"lastErrorCode":42913,"lastErrorMessage":"rate"}}}`))
	}))
	defer mapFormat.Close()
	dir := t.TempDir()
	files := map[string]string{
		"n1.json":   `{"id":"n1","healthAddr":"` + strings.TrimPrefix(listFormat.URL, "http://") + `"}`,
		"n2.json":   `{"id":"n2","healthAddress":"` + strings.TrimPrefix(mapFormat.URL, "http://") + `"}`,
		"gone.json": `{"id":"gone","healthAddr":"127.0.0.1:1"}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reg := monitor.NodeRegistry{Dir: dir}
	if ids := reg.NodeIDs(); len(ids) != 3 || ids[0] != "gone" {
		t.Fatalf("node ids %v", ids)
	}
	errs, err := reg.ChannelErrors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	big, rate := errs["big"], errs["rate"]
	if len(errs) != 2 || big.Code != 40009 || big.SequenceID != 7 || big.Owner != "n1" || !big.Blocked ||
		rate.Code != 42913 || rate.Owner != "n2" || rate.Channel != "rate" {
		t.Fatalf("errors %+v", errs)
	}
	if _, err := (monitor.NodeRegistry{Dir: filepath.Join(dir, "none")}).ChannelErrors(context.Background()); err != nil {
		t.Fatalf("no nodes registered: %v", err)
	}
}
