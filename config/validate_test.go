package config

import (
	"errors"
	"strings"
	"testing"
)

// TestFileErrors checks that each kind of bad file value is reported at the
// exact line, with the key and a hint that says how to fix it.
func TestFileErrors(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		key        string
		want       []string // substrings of the message or hint
	}{
		{"invalid yaml", "connector:\n  nodes: 1\n  batchSize: [1, 2\nsandbox:\n", 3, "", []string{"invalid YAML", "starts on this line"}},
		{"bad dedent", "connector:\n  nodes: 1\n batchSize: 2\n", 3, "", []string{"invalid YAML"}},
		{"value with colon", "postgres:\n  sslMode: prefer\n  url: a: b\n", 3, "", []string{"mapping values are not allowed"}},
		{"tab indent", "connector:\n\tnodes: 1\n", 2, "", []string{"invalid YAML", "tabs"}},
		{"unknown key", "# comment\nconnector:\n  pollIntervall: 2s\n", 3, "connector.pollIntervall", []string{`connector.pollIntervall: unknown key`, `did you mean "pollInterval"?`}},
		{"snake case key", "connector:\n  batch_size: 10\n", 2, "connector.batch_size", []string{`did you mean "batchSize"?`}},
		{"key in wrong section", "mongo:\n  url: \"\"\n  lockTTL: 10s\n", 3, "mongo.lockTTL", []string{`did you mean "connector.lockTTL"? it belongs under 'connector:'`}},
		{"unknown section", "conector:\n  nodes: 1\n", 1, "conector", []string{`did you mean "connector"?`}},
		{"nothing close", "connector:\n  zzzzzzzz: 1\n", 2, "connector.zzzzzzzz", []string{"valid keys under 'connector:'", "pollInterval"}},
		{"duplicate key", "connector:\n  nodes: 1\n  nodes: 2\n", 3, "connector.nodes", []string{"set twice (first on line 2)"}},
		{"batchSize 0", "connector:\n  batchSize: 0\n", 2, "connector.batchSize", []string{"0 is out of range", "from 1 to 1000"}},
		{"batchSize 1001", "dashboard:\n  theme: mono\nconnector:\n\n  batchSize: 1001\n", 5, "connector.batchSize", []string{"1001 is out of range"}},
		{"batchSize quoted", "connector:\n  nodes: 1\n  batchSize: \"100\"\n", 3, "connector.batchSize", []string{`"100" is a quoted string, not a whole number`, "remove the quotes: batchSize: 100"}},
		{"batchSize single-quoted", "connector:\n  batchSize: '100'\n", 2, "connector.batchSize", []string{`"100" is a quoted string`}},
		{"bool quoted", "dashboard:\n  mouse: \"true\"\n", 2, "dashboard.mouse", []string{`"true" is a quoted string, not true or false`}},
		{"batchSize text", "connector:\n  batchSize: many\n", 2, "connector.batchSize", []string{`"many" is not a whole number`}},
		{"duration 50ms", "connector:\n  retry:\n    min: 50ms\n", 3, "connector.retry.min", []string{"50ms is too short", "at least 100ms"}},
		{"completionFlush 5ms", "connector:\n  completionFlush: 5ms\n", 2, "connector.completionFlush", []string{"5ms is too short", "at least 10ms"}},
		{"duration no unit", "connector:\n  pollInterval: 5\n", 2, "connector.pollInterval", []string{"no unit", "5ms or 5s"}},
		{"duration text", "dashboard:\n  refresh: soon\n", 2, "dashboard.refresh", []string{"not a duration"}},
		{"120s rule", "connector:\n  safetyPoll: 2s\n  lockTTL: 100s\n", 3, "connector.lockTTL", []string{"= 132s", "not under 120s", "sum is under 120s"}},
		{"lock timeout", "connector:\n  statementTimeout: 2s\n  lockTimeout: 3s\n", 3, "connector.lockTimeout", []string{"longer than statementTimeout 2s", "at most connector.statementTimeout"}},
		{"120s rule retry", "connector:\n  retry:\n    max: 95s\n", 3, "connector.retry.max", []string{"= 127s"}},
		{"lockTTL vs poll", "connector:\n  pollInterval: 20s\n  lockTTL: 30s\n", 3, "connector.lockTTL", []string{"shorter than 2 x pollInterval 20s", "at least 40s"}},
		{"retry min>max", "connector:\n  retry:\n    min: 5s\n    max: 1s\n", 3, "connector.retry.min", []string{"longer than retry.max"}},
		{"enum typo", "dashboard:\n  theme: lihgt\n", 2, "dashboard.theme", []string{`"lihgt" is not an allowed value`, `did you mean "light"?`}},
		{"bool", "dashboard:\n  mouse: sometimes\n", 2, "dashboard.mouse", []string{"write true or false"}},
		{"section as value", "connector: 5\n", 1, "connector", []string{"must be a section of keys"}},
		{"list as value", "connector:\n  nodes: [1]\n", 2, "connector.nodes", []string{"single value, not a list"}},
		{"null int", "connector:\n  nodes:\n", 2, "connector.nodes", []string{"has no value", "nodes: 1"}},
		{"permanent code", "connector:\n  permanentCodes:\n    - 40009\n    - 12\n", 4, "connector.permanentCodes", []string{"12 is out of range"}},
		{"pipeline", "mongo:\n  pipeline: '{\"$match\": {}}'\n", 2, "mongo.pipeline", []string{"not a JSON array"}},
		{"empty action key", "dashboard:\n  keys:\n    quit: q\n    help: \"\"\n", 4, "dashboard.keys.help", []string{`"help" is empty`}},
		{"health addr", "connector:\n  healthAddr: localhost\n", 2, "connector.healthAddr", []string{"not host:port"}},
		{"dot-less host", "ably:\n  local:\n    addr: myhost:0\n", 3, "ably.local.addr", []string{"routing policy"}},
		{"pg url", "postgres:\n  url: mysql://x@y/z\n", 2, "postgres.url", []string{"postgres://"}},
		{"second document", "connector:\n  nodes: 1\n---\nsandbox: {}\n", 3, "", []string{"second YAML document"}},
		{"not a mapping", "- a\n- b\n", 1, "", []string{"mapping of sections"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.text)
			cfg, err := Load(Source{File: path})
			if err == nil {
				t.Fatalf("no error for:\n%s", c.text)
			}
			if cfg != nil {
				t.Errorf("a config was returned with the error")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError: %v", err, err)
			}
			if ve.File != path || ve.Line != c.line || ve.Key != c.key {
				t.Errorf("at %s:%d key %q, want %s:%d key %q (%v)", ve.File, ve.Line, ve.Key, path, c.line, c.key, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if ve.Hint == "" {
				t.Errorf("no hint in %q", err)
			}
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	_, err := Load(Source{File: writeFile(t, "connector:\n  batchSize: 0\n  nodez: 1\ndashboard:\n  theme: dark\n")})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, w := range []string{":3: ", "nodez"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	// Value checks run once the file parses cleanly; then all are reported.
	_, err = Load(Source{File: writeFile(t, "connector:\n  batchSize: 0\ndashboard:\n  theme: dark\n")})
	if err == nil || !strings.Contains(err.Error(), ":2: connector.batchSize") || !strings.Contains(err.Error(), ":4: dashboard.theme") {
		t.Errorf("want both problems, got %v", err)
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	c.Connector.BatchSize = 0
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Key != "connector.batchSize" || ve.File != "" || ve.Line != 0 {
		t.Errorf("an in-code change must be reported by key without a location, got %#v", ve)
	}
}

func TestMinimumDurationsAccepted(t *testing.T) {
	cfg, err := Load(Source{File: writeFile(t, "connector:\n  pollInterval: 100ms\n  safetyPoll: 100ms\n  lockTTL: 200ms\n  completionFlush: 10ms\n")})
	if err != nil {
		t.Fatalf("100ms durations and a 10ms completionFlush must load: %v", err)
	}
	if cfg.Connector.LockTTL.Milliseconds() != 200 || cfg.Connector.CompletionFlush.Milliseconds() != 10 {
		t.Errorf("lockTTL = %v, completionFlush = %v", cfg.Connector.LockTTL, cfg.Connector.CompletionFlush)
	}
}

// TestMongoPipelineStages: a pipeline with a stage change streams reject
// is reported at its line with the stage named (72005), before anything runs.
func TestMongoPipelineStages(t *testing.T) {
	_, err := Load(Source{File: writeFile(t, "mongo:\n  database: app\n  pipeline: '[{\"$match\":{}},{\"$lookup\":{\"from\":\"x\"}}]'\n")})
	if err == nil || !strings.Contains(err.Error(), ":3") || !strings.Contains(err.Error(), `stage 2: "$lookup" is not allowed in a change stream`) || !strings.Contains(err.Error(), "72005") {
		t.Fatalf("got %v", err)
	}
	cfg, err := Load(Source{File: writeFile(t, "mongo:\n  checkpointInterval: 250ms\n")})
	if err != nil || cfg.Mongo.CheckpointInterval.String() != "250ms" || Default().Mongo.CheckpointInterval.String() != "1s" {
		t.Fatalf("checkpointInterval: %v %v", cfg, err)
	}
}
