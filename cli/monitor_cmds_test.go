package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// seedOutbox seeds the stuck-row scenario (see pgtest.SeedStuckScenario).
func seedOutbox(t *testing.T, db *pgtest.DB) { db.SeedStuckScenario(t) }

// statusDoc is the part of `status --json` the tests read.
type statusDoc struct {
	Outbox struct {
		Pending, Locked, RejectedPending int64
		OldestPendingAgeSeconds          *float64
		OldestClaimableAgeSeconds        *float64
		AgeSource                        string
		MaxSequenceID                    *int64
		TombstoneSequenceID              *int64
		Estimated                        bool
	}
	Nodes []struct {
		ID               string
		Expiry           string
		ExpiresInSeconds float64
		Alive, Own       bool
	}
	Stuck []struct {
		SequenceID int64
		Channel    string
		Reason     string
		Detail     string
	}
	Trigger  struct{ Present bool }
	Warnings []struct {
		Code   string
		Detail string
	}
}

func TestStatusJSONOnHandSeededOutbox(t *testing.T) {
	db := pgtest.NewDB(t)
	seedOutbox(t, db)
	out, stderr, code := runCLI(t, "status", "--json", "--pg-url", db.URL)
	if code != 0 {
		t.Fatalf("exit %d (stuck rows are data, want 0): %s", code, stderr)
	}
	var doc statusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	o := doc.Outbox
	if o.Pending != 4 || o.RejectedPending != 1 || o.Locked != 1 || o.Estimated || *o.MaxSequenceID != 5 || *o.TombstoneSequenceID != 1 {
		t.Fatalf("outbox %+v", o)
	}
	alive := map[string]bool{}
	for _, n := range doc.Nodes {
		alive[n.ID] = n.Alive
		if !strings.HasSuffix(n.Expiry, "Z") {
			t.Errorf("expiry %q is not RFC 3339 UTC", n.Expiry)
		}
	}
	if alive["node-dead"] || !alive["node-live"] {
		t.Fatalf("nodes %+v", doc.Nodes)
	}
	reasons := map[int64]string{}
	for _, s := range doc.Stuck {
		reasons[s.SequenceID] = s.Reason
	}
	if len(reasons) != 2 || reasons[2] != "owner-dead" || reasons[3] != "lock-expired" {
		t.Fatalf("stuck %+v", doc.Stuck)
	}
	if !doc.Trigger.Present {
		t.Fatal("trigger not present")
	}
	human, _, code := runCLI(t, "status", "--pg-url", db.URL)
	if code != 0 || !strings.Contains(human, "owner-dead") || !strings.Contains(human, "pending 4") {
		t.Fatalf("human status (exit %d):\n%s", code, human)
	}
}

func TestOutboxListFilters(t *testing.T) {
	db := pgtest.NewDB(t)
	seedOutbox(t, db)
	out, stderr, code := runCLI(t, "outbox", "list", "--rejected", "--json", "--pg-url", db.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["sequenceId"] != float64(4) || rows[0]["rejected"] != true {
		t.Fatalf("rejected list %v", rows)
	}
	if d, ok := rows[0]["data"].(map[string]any); !ok || d["n"] != float64(4) || rows[0]["lockExpiry"] != nil {
		t.Fatalf("row 4 data %v lockExpiry %v", rows[0]["data"], rows[0]["lockExpiry"])
	}
	out, _, _ = runCLI(t, "outbox", "list", "--stuck", "--json", "--pg-url", db.URL)
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || rows[0]["sequenceId"] != float64(2) || rows[1]["sequenceId"] != float64(3) {
		t.Fatalf("stuck list %v (%v)", rows, err)
	}
	if s, ok := rows[0]["lockExpiry"].(string); !ok || !strings.HasSuffix(s, "Z") {
		t.Fatalf("lockExpiry %v", rows[0]["lockExpiry"])
	}
	out, _, _ = runCLI(t, "outbox", "list", "--pending", "--after", "3", "--limit", "1", "--json", "--pg-url", db.URL)
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0]["sequenceId"] != float64(4) {
		t.Fatalf("keyset page %v (%v)", rows, err)
	}
	if _, stderr, code := runCLI(t, "outbox", "list", "--pending", "--rejected", "--pg-url", db.URL); code != 2 || !strings.Contains(stderr, "mutually exclusive") {
		t.Fatalf("two filters: exit %d %s", code, stderr)
	}
}

// lockOf returns row id's locked_by ("" when NULL or missing).
func lockOf(t *testing.T, db *pgtest.DB, id int) string {
	t.Helper()
	var by *string
	err := db.Admin(t).QueryRow(context.Background(), "SELECT locked_by FROM outbox WHERE sequence_id = $1", id).Scan(&by)
	if err != nil {
		t.Fatal(err)
	}
	if by == nil {
		return ""
	}
	return *by
}

func TestOutboxRetryAndDelete(t *testing.T) {
	db := pgtest.NewDB(t)
	seedOutbox(t, db)
	if _, stderr, code := runCLI(t, "outbox", "retry", "2", "--pg-url", db.URL); code != 1 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("retry without --yes on a non-terminal: exit %d %s", code, stderr)
	}
	if lockOf(t, db, 2) != "node-dead" {
		t.Fatal("retry without --yes changed the row")
	}
	if _, stderr, code := runCLI(t, "outbox", "retry", "2", "999", "--yes", "--pg-url", db.URL); code != 1 || !strings.Contains(stderr, "999") {
		t.Fatalf("retry of a missing id: exit %d %s", code, stderr)
	}
	if lockOf(t, db, 2) != "node-dead" {
		t.Fatal("a failed retry changed row 2")
	}
	out, stderr, code := runCLI(t, "outbox", "retry", "2", "--yes", "--pg-url", db.URL)
	if code != 0 || !strings.Contains(stderr, "UPDATE") || !strings.Contains(out, "freed 1") {
		t.Fatalf("retry: exit %d\n%s\n%s", code, out, stderr)
	}
	if lockOf(t, db, 2) != "" {
		t.Fatal("retry did not free the dead node's lock")
	}
	// A row locked by a live node with a live lock is left alone unless forced.
	if _, err := db.Admin(t).Exec(context.Background(),
		"UPDATE outbox SET locked_by = 'node-live', lock_expiry = (now() AT TIME ZONE 'utc') + interval '30 seconds' WHERE sequence_id = 5"); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := runCLI(t, "outbox", "retry", "5", "--yes", "--pg-url", db.URL); code != 0 || !strings.Contains(out, "already claimed") || lockOf(t, db, 5) != "node-live" {
		t.Fatalf("retry of a live lock: exit %d %s %s; want the row left with its live node", code, out, stderr)
	}
	if _, _, code := runCLI(t, "outbox", "retry", "5", "--yes", "--force", "--pg-url", db.URL); code != 0 || lockOf(t, db, 5) != "" {
		t.Fatalf("forced retry: exit %d", code)
	}
	if _, stderr, code := runCLI(t, "outbox", "delete", "1", "--yes", "--pg-url", db.URL); code != 1 || !strings.Contains(stderr, "tombstone") {
		t.Fatalf("delete of the tombstone: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "outbox", "delete", "4", "--yes", "--readonly", "--pg-url", db.URL); code != 1 || !strings.Contains(stderr, "read-only") {
		t.Fatalf("delete --readonly: exit %d %s", code, stderr)
	}
	if _, _, code := runCLI(t, "outbox", "delete", "4", "--yes", "--pg-url", db.URL); code != 0 {
		t.Fatalf("delete: exit %d", code)
	}
	out, _, _ = runCLI(t, "outbox", "list", "--rejected", "--json", "--pg-url", db.URL)
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("row 4 still listed: %s", out)
	}
	if _, _, code := runCLI(t, "outbox", "retry", "x", "--yes", "--pg-url", db.URL); code != 2 {
		t.Fatalf("retry x: exit %d; want 2", code)
	}
}
