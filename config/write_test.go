package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteDefaultLoadsBackToDefault(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteDefault(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "livesync.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Source{File: path})
	if err != nil {
		t.Fatalf("the default file does not load: %v", err)
	}
	def := Default()
	if !cfg.Equal(&def) {
		t.Errorf("the default file loads to\n%+v\nwant\n%+v", *cfg, def)
	}
	text := buf.String()
	for _, k := range KeyPaths() {
		if !strings.Contains(text, k.Env) {
			t.Errorf("%s: its variable %s is not mentioned", k.Path, k.Env)
		}
		if k.Path == "ably.key" {
			continue
		}
		if cfg.Origin(k.Path) == "default" {
			t.Errorf("%s is not written in the default file", k.Path)
		}
	}
	if cfg.Origin("ably.key") != "default" || !strings.Contains(text, `# key: ""`) {
		t.Errorf("ably.key must be shown commented out, never written")
	}
}

func TestEnvNames(t *testing.T) {
	want := map[string]string{
		"connector.pollInterval":         "LIVESYNC_CONNECTOR_POLL_INTERVAL",
		"ably.local.dedupeWindow":        "LIVESYNC_ABLY_LOCAL_DEDUPE_WINDOW",
		"connector.lockTTL":              "LIVESYNC_CONNECTOR_LOCK_TTL",
		"ably.local.historyTTL":          "LIVESYNC_ABLY_LOCAL_HISTORY_TTL",
		"connector.retry.max":            "LIVESYNC_CONNECTOR_RETRY_MAX",
		"mongo.fullDocumentBeforeChange": "LIVESYNC_MONGO_FULL_DOCUMENT_BEFORE_CHANGE",
		"postgres.sslRootCert":           "LIVESYNC_POSTGRES_SSL_ROOT_CERT",
		"sandbox.postgresPort":           "LIVESYNC_SANDBOX_POSTGRES_PORT",
		"ably.local.maxIdleInterval":     "LIVESYNC_ABLY_LOCAL_MAX_IDLE_INTERVAL",
		"ably.local.connectionStateTTL":  "LIVESYNC_ABLY_LOCAL_CONNECTION_STATE_TTL",
		"dashboard.keys":                 "LIVESYNC_DASHBOARD_KEYS",
		"postgres.outboxTableSchema":     "LIVESYNC_POSTGRES_OUTBOX_TABLE_SCHEMA",
		"connector.heartbeatTimeout":     "LIVESYNC_CONNECTOR_HEARTBEAT_TIMEOUT",
		"connector.completionFlush":      "LIVESYNC_CONNECTOR_COMPLETION_FLUSH",
		"connector.permanentCodes":       "LIVESYNC_CONNECTOR_PERMANENT_CODES",
		"dashboard.stuckThreshold":       "LIVESYNC_DASHBOARD_STUCK_THRESHOLD",
		"connector.healthAddr":           "LIVESYNC_CONNECTOR_HEALTH_ADDR",
		"sandbox.postgresVersion":        "LIVESYNC_SANDBOX_POSTGRES_VERSION",
		"ably.key":                       "LIVESYNC_ABLY_KEY",
		"connector.pollFixedRate":        "LIVESYNC_CONNECTOR_POLL_FIXED_RATE",
		"mongo.dataEncoding":             "LIVESYNC_MONGO_DATA_ENCODING",
		"connector.retainProcessed":      "LIVESYNC_CONNECTOR_RETAIN_PROCESSED",
		"dashboard.tailBuffer":           "LIVESYNC_DASHBOARD_TAIL_BUFFER",
		"postgres.nodesTableName":        "LIVESYNC_POSTGRES_NODES_TABLE_NAME",
		"ably.local.historyLimit":        "LIVESYNC_ABLY_LOCAL_HISTORY_LIMIT",
		"connector.publishMode":          "LIVESYNC_CONNECTOR_PUBLISH_MODE",
		"connector.safetyPoll":           "LIVESYNC_CONNECTOR_SAFETY_POLL",
		"connector.batchSize":            "LIVESYNC_CONNECTOR_BATCH_SIZE",
		"connector.nodes":                "LIVESYNC_CONNECTOR_NODES",
		"connector.debounce":             "LIVESYNC_CONNECTOR_DEBOUNCE",
		"connector.retry.min":            "LIVESYNC_CONNECTOR_RETRY_MIN",
		"postgres.sslMode":               "LIVESYNC_POSTGRES_SSL_MODE",
		"sandbox.backend":                "LIVESYNC_SANDBOX_BACKEND",
		"dashboard.refresh":              "LIVESYNC_DASHBOARD_REFRESH",
		"mongo.primarySite":              "LIVESYNC_MONGO_PRIMARY_SITE",
		"ably.local.limits":              "LIVESYNC_ABLY_LOCAL_LIMITS",
		"ably.local.addr":                "LIVESYNC_ABLY_LOCAL_ADDR",
		"postgres.url":                   "LIVESYNC_POSTGRES_URL",
		"mongo.pipeline":                 "LIVESYNC_MONGO_PIPELINE",
		"dashboard.theme":                "LIVESYNC_DASHBOARD_THEME",
	}
	seen := map[string]string{}
	for _, k := range KeyPaths() {
		if other, dup := seen[k.Env]; dup {
			t.Errorf("%s and %s share %s", k.Path, other, k.Env)
		}
		seen[k.Env] = k.Path
		if w, ok := want[k.Path]; ok && w != k.Env {
			t.Errorf("%s: env %s, want %s", k.Path, k.Env, w)
		}
		if k.Doc == "" || k.Default == "" {
			t.Errorf("%s: missing doc or default", k.Path)
		}
	}
	if len(seen) < len(want) {
		t.Errorf("KeyPaths has %d keys, fewer than the %d named here", len(seen), len(want))
	}
}

func TestWriteReference(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReference(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(KeyPaths())+2 {
		t.Errorf("%d table lines for %d keys", len(lines), len(KeyPaths()))
	}
	if !strings.Contains(buf.String(), "| `connector.batchSize` | `LIVESYNC_CONNECTOR_BATCH_SIZE` | `100` |") {
		t.Errorf("batchSize row missing:\n%s", buf.String())
	}
}
