package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/sandbox"
)

// TestNodePostgresConnectsWithSandboxURL brings a real sandbox up and lets
// node-postgres use postgres.url exactly as sandbox.json gives it.
func TestNodePostgresConnectsWithSandboxURL(t *testing.T) {
	requireNode(t)
	npmCI(t, "nodepg")
	project := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	st, err := sandbox.Up(ctx, sandbox.Options{Dir: project, Progress: &progress})
	if err != nil {
		t.Fatalf("sandbox up: %v\n%s", err, progress.String())
	}
	t.Cleanup(func() { _, _ = sandbox.Down(context.Background(), sandbox.DownOptions{Dir: project, Purge: true}) })
	out := runNode(t, "nodepg", []string{"PG_URL=" + st.Postgres.URL}, "check.mjs")
	var got struct {
		SequenceID      int64  `json:"sequenceId"`
		RejectedNonJSON bool   `json:"rejectedNonJSON"`
		ServerSSL       string `json:"serverSSL"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &got); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	if got.SequenceID < 1 || !got.RejectedNonJSON {
		t.Fatalf("node-postgres saw %+v", got)
	}
}
