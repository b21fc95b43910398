package cli

import "testing"

// TestGCTuningSettings: the tuning applies what the environment leaves
// unset, and GOGC / GOMEMLIMIT set by the user win.
func TestGCTuningSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
	}
	for _, c := range []struct {
		name             string
		env              map[string]string
		g                gcTuning
		percent, limitMB int64
	}{
		{"connector, nothing set", nil, connectorGC, 300, 28},
		{"connector, GOGC set", map[string]string{"GOGC": "150"}, connectorGC, -1, 28},
		{"connector, GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, connectorGC, 300, -1},
		{"endpoint, nothing set", nil, endpointGC, 200, -1},
		{"endpoint, both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "off"}, endpointGC, -1, -1},
	} {
		percent, limit := c.g.settings(env(c.env))
		wantLimit := c.limitMB
		if wantLimit > 0 {
			wantLimit <<= 20
		}
		if int64(percent) != c.percent || limit != wantLimit {
			t.Errorf("%s: percent %d, limit %d; want %d, %d", c.name, percent, limit, c.percent, wantLimit)
		}
	}
}
