package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file into a fresh directory and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "livesync.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	path := writeFile(t, `connector:
  pollInterval: 2s
  batchSize: 200
  nodes: 2
dashboard:
  theme: light
`)
	cfg, err := Load(Source{
		File:  path,
		Env:   []string{"LIVESYNC_CONNECTOR_BATCH_SIZE=300", "LIVESYNC_CONNECTOR_NODES=3", "HOME=/nowhere"},
		Flags: map[string]string{"connector.nodes": "4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, origin string
		got, want   any
	}{
		{"connector.lockTTL", "default", cfg.Connector.LockTTL, 30 * time.Second},
		{"connector.pollInterval", path + ":2", cfg.Connector.PollInterval, 2 * time.Second},
		{"dashboard.theme", path + ":6", cfg.Dashboard.Theme, "light"},
		{"connector.batchSize", "env:LIVESYNC_CONNECTOR_BATCH_SIZE", cfg.Connector.BatchSize, 300},
		{"connector.nodes", "flag:connector.nodes", cfg.Connector.Nodes, 4},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
		if o := cfg.Origin(c.key); o != c.origin {
			t.Errorf("Origin(%s) = %q, want %q", c.key, o, c.origin)
		}
	}
}

func TestAblyKeyFromEnv(t *testing.T) {
	cfg, err := Load(Source{File: writeFile(t, ""), Env: []string{"ABLY_API_KEY=app.key1:secret1"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ably.Key != "app.key1:secret1" || cfg.Origin("ably.key") != "env:ABLY_API_KEY" {
		t.Errorf("key %q from %s, want ABLY_API_KEY's", cfg.Ably.Key, cfg.Origin("ably.key"))
	}
	cfg, err = Load(Source{File: writeFile(t, ""), Env: []string{"LIVESYNC_ABLY_KEY=app.key2:secret2", "ABLY_API_KEY=app.key1:secret1"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ably.Key != "app.key2:secret2" {
		t.Errorf("LIVESYNC_ABLY_KEY must win over ABLY_API_KEY, got %q", cfg.Ably.Key)
	}
	_, err = Load(Source{File: writeFile(t, ""), Env: []string{"ABLY_API_KEY=notakey-TOPSECRET"}})
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") || !strings.Contains(err.Error(), "ably.key") {
		t.Errorf("a bad key must be rejected without echoing it, got %v", err)
	}
}

func TestFileDiscovery(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, err := Load(Source{})
	if err != nil {
		t.Fatalf("no file must mean defaults, got %v", err)
	}
	def := Default()
	if !cfg.Equal(&def) {
		t.Errorf("no file: config differs from Default()")
	}
	if err := os.WriteFile(DefaultFile, []byte("connector:\n  nodes: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(Source{}); err != nil || cfg.Connector.Nodes != 5 {
		t.Errorf("./livesync.yaml not used: %v", err)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("connector:\n  nodes: 6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(Source{Env: []string{"LIVESYNC_CONFIG=" + other}}); err != nil || cfg.Connector.Nodes != 6 {
		t.Errorf("LIVESYNC_CONFIG not used: %v", err)
	}
	_, err = Load(Source{File: filepath.Join(dir, "missing.yaml")})
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Hint, "livesync-dev init") {
		t.Errorf("a named missing file must fail with an init hint, got %v", err)
	}
}

func TestEnvAndFlagErrorsNameTheirSource(t *testing.T) {
	cases := []struct {
		src  Source
		want []string
	}{
		{Source{Env: []string{"LIVESYNC_CONNECTOR_BATCH_SIZE=lots"}}, []string{"env LIVESYNC_CONNECTOR_BATCH_SIZE", "not a whole number"}},
		{Source{Env: []string{"LIVESYNC_CONNECTOR_BATCH_SIZE=0"}}, []string{"env LIVESYNC_CONNECTOR_BATCH_SIZE", "out of range", "1 to 1000"}},
		{Source{Env: []string{"LIVESYNC_CONNECTOR_POLL_INTERVAL=5"}}, []string{"env LIVESYNC_CONNECTOR_POLL_INTERVAL", "add a unit"}},
		{Source{Flags: map[string]string{"connector.nodse": "2"}}, []string{"flag connector.nodse", "unknown", `did you mean "connector.nodes"`}},
		{Source{Flags: map[string]string{"batchsize": "2"}}, []string{"flag batchsize", `did you mean "connector.batchSize"`}},
		{Source{Flags: map[string]string{"connector.nodes": "0"}}, []string{"flag connector.nodes", "out of range"}},
		{Source{Flags: map[string]string{"ably.local.addr": "nope"}}, []string{"flag ably.local.addr: "}},
		{Source{Flags: map[string]string{"dashboard.keys.quit": ""}}, []string{"flag dashboard.keys.quit", `"quit" is empty`}},
	}
	for _, c := range cases {
		c.src.File = writeFile(t, "")
		_, err := Load(c.src)
		for path := range c.src.Flags {
			if err != nil && strings.Contains(err.Error(), "flag "+path+": "+path+":") {
				t.Errorf("flag error repeats its key: %v", err)
			}
		}
		if err == nil {
			t.Errorf("%+v: no error", c.src)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q lacks %q", c.src, err, w)
			}
		}
	}
}

func TestEnvAndFlagCollections(t *testing.T) {
	cfg, err := Load(Source{File: writeFile(t, ""),
		Env:   []string{"LIVESYNC_CONNECTOR_PERMANENT_CODES=40009, 42913", `LIVESYNC_DASHBOARD_KEYS={"quit":"Q"}`},
		Flags: map[string]string{"dashboard.keys.help": "?"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connector.PermanentCodes; len(got) != 2 || got[1] != 42913 {
		t.Errorf("permanentCodes = %v", got)
	}
	if cfg.Dashboard.Keys["quit"] != "Q" || cfg.Dashboard.Keys["help"] != "?" {
		t.Errorf("keys = %v", cfg.Dashboard.Keys)
	}
}

func TestPipelineAsYAMLList(t *testing.T) {
	cfg, err := Load(Source{File: writeFile(t, "mongo:\n  pipeline:\n    - $set: {_ablyChannel: orders}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"$set":{"_ablyChannel":"orders"}}]`; cfg.Mongo.Pipeline != want {
		t.Errorf("pipeline = %s, want %s", cfg.Mongo.Pipeline, want)
	}
}
