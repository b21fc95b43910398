package config

import (
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// TestFaultsFromFileAndEnv: ably.local.faults reads a YAML list of rules
// (durations with units) and the variable a JSON array; bad rules name
// their line and say what is wrong.
func TestFaultsFromFileAndEnv(t *testing.T) {
	path := writeFile(t, `ably:
  local:
    faults:
      - channel: 'demo:*'
        code: 40160
      - channel: orders
        delayAck: 500ms
        for: 1m
      - drop: true
        every: 10s
`)
	cfg, err := Load(Source{File: path, Env: []string{"HOME=/nowhere"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []fault.Rule{{Channel: "demo:*", Code: 40160},
		{Channel: "orders", DelayAck: fault.Duration(500 * time.Millisecond), For: fault.Duration(time.Minute)},
		{Drop: true, Every: fault.Duration(10 * time.Second)}}
	if got := cfg.Ably.Local.Faults; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("faults = %+v, want %+v", got, want)
	}
	cfg, err = Load(Source{File: writeFile(t, ""), Env: []string{`LIVESYNC_ABLY_LOCAL_FAULTS=[{"channel":"x:*","rate":5}]`}})
	if err != nil || len(cfg.Ably.Local.Faults) != 1 || cfg.Ably.Local.Faults[0].Rate != 5 {
		t.Fatalf("from env: %+v %v", cfg, err)
	}
	for text, want := range map[string][]string{
		"ably:\n  local:\n    faults:\n      - channel: a\n        colour: red\n": {"line 5", "unknown key \"colour\""},
		"ably:\n  local:\n    faults:\n      - channel: a\n":                      {":4", "injects no fault"},
		"ably:\n  local:\n    faults:\n      - delayAck: 500\n":                   {":4", "not a duration"},
		"ably:\n  local:\n    faults: {channel: a}\n":                             {":3", "must be a list"},
		"ably:\n  local:\n    faults:\n      - refuseConnections: true\n":         {"needs for"},
		"ably:\n  local:\n    faults:\n      - code: 40160\n      - code: 1\n":    {"line 5", "rule 2", "not an Ably error code"},
	} {
		_, err := Load(Source{File: writeFile(t, text), Env: []string{"HOME=/nowhere"}})
		if err == nil {
			t.Errorf("%q loaded", text)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", text, err, w)
			}
		}
	}
	if _, err := Load(Source{Env: []string{`LIVESYNC_ABLY_LOCAL_FAULTS=[{"channel":"x"}]`}}); err == nil || !strings.Contains(err.Error(), "LIVESYNC_ABLY_LOCAL_FAULTS") {
		t.Errorf("bad env rule: %v", err)
	}
}
