package faultsuite

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// TestConnectorProcessGC: `connector run` as the user starts it collects
// garbage at GOGC=300 under a 28 MiB soft limit (read back from its own
// /metrics), and a GOGC the user sets wins.
func TestConnectorProcessGC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes; skipped with -short")
	}
	e := newEnv(t, "")
	for _, c := range []struct {
		env            []string
		percent, limit string
	}{
		{nil, "300", "2.9360128e+07"},
		{[]string{"GOGC=150"}, "150", "2.9360128e+07"},
	} {
		conn := e.startConnector(c.env...)
		got := goMetrics(t, conn.health)
		if got["go_gc_gogc_percent"] != c.percent || got["go_gc_gomemlimit_bytes"] != c.limit {
			t.Errorf("env %v: go_gc_gogc_percent %q, go_gc_gomemlimit_bytes %q; want %s and %s",
				c.env, got["go_gc_gogc_percent"], got["go_gc_gomemlimit_bytes"], c.percent, c.limit)
		}
		conn.stop(t)
	}
}

// goMetrics reads the unlabelled go_gc_* samples of a node's /metrics.
func goMetrics(t *testing.T, health string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + health + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(f[0], "go_gc_") {
			out[f[0]] = f[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
