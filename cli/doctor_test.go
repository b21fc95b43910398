package cli

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

type doctorJSON struct {
	Checks []struct {
		ID, Title, Status, Detail, Fix string
	} `json:"checks"`
	OK bool `json:"ok"`
}

func parseDoctor(t *testing.T, stdout string) doctorJSON {
	t.Helper()
	var doc doctorJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not the doctor JSON document: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", stdout)
	}
	return doc
}

func TestDoctorJSONProvisioned(t *testing.T) {
	db := pgtest.NewDB(t)
	stdout, stderr, code := runCLI(t, "doctor", "--pg-url", db.URL, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	doc := parseDoctor(t, stdout)
	if !doc.OK || len(doc.Checks) == 0 {
		t.Fatalf("ok=%v with %d checks, want ok with checks", doc.OK, len(doc.Checks))
	}
	for _, c := range doc.Checks {
		if c.ID == "" || c.Title == "" || c.Status != "ok" {
			t.Errorf("check %+v, want id, title and status ok", c)
		}
	}
}

func TestDoctorJSONFailureExitsOne(t *testing.T) {
	db := pgtest.NewDB(t)
	if _, err := db.Admin(t).Exec(context.Background(), "DROP TRIGGER public_outbox_trigger ON public.outbox"); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "doctor", "--pg-url", db.URL, "--json")
	if code != 1 || !strings.Contains(stderr, "1 of") {
		t.Fatalf("exit %d, stderr %q; want 1 and a count of failed checks", code, stderr)
	}
	doc := parseDoctor(t, stdout)
	if doc.OK {
		t.Error(`"ok" is true with a failing check`)
	}
	found := false
	for _, c := range doc.Checks {
		if c.ID == "trigger" {
			found = c.Status == "fail" && strings.Contains(c.Fix, "CREATE TRIGGER")
		}
	}
	if !found {
		t.Errorf("no failing trigger check with a fix in %s", stdout)
	}
}

func TestDoctorTextShowsFixSQL(t *testing.T) {
	db := pgtest.NewDB(t)
	if _, err := db.Admin(t).Exec(context.Background(), "DROP INDEX public.outbox_pending_idx"); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "doctor", "--pg-url", db.URL)
	if code != 0 {
		t.Fatalf("a warning only: exit %d, want 0; stderr %s", code, stderr)
	}
	if !strings.Contains(stdout, "WARN  index outbox_pending_idx") ||
		!strings.Contains(stdout, "\n      CREATE INDEX CONCURRENTLY IF NOT EXISTS \"outbox_pending_idx\"") ||
		!strings.Contains(stdout, "OK    role livesync_user — ") ||
		!strings.Contains(stdout, "1 warn, 0 fail") {
		t.Errorf("unexpected human output:\n%s", stdout)
	}
	if strings.Contains(stdout, "{") && strings.Contains(stdout, `"checks"`) {
		t.Error("human output contains JSON")
	}
}

func TestDoctorCustomNamesAndRole(t *testing.T) {
	db := pgtest.NewDB(t)
	stdout, _, code := runCLI(t, "doctor", "--pg-url", db.AdminURL, "--json", "--as", "nobody_at_all",
		"--outbox-schema", "public", "--outbox-table", "events", "--nodes-table", "workers")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	fails := map[string]bool{}
	for _, c := range parseDoctor(t, stdout).Checks {
		if c.Status == "fail" {
			fails[c.ID] = true
		}
	}
	for _, id := range []string{"role", "outbox.table", "nodes.table"} {
		if !fails[id] {
			t.Errorf("check %s did not fail for a missing role and tables; failures %v", id, fails)
		}
	}
}

func TestDoctorConnectionErrors(t *testing.T) {
	t.Setenv("LIVESYNC_POSTGRES_URL", "")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no url", nil, 1, "no sandbox found"},
		{"bad url", []string{"--pg-url", "postgres://u:secret@127.0.0.1:notaport/db"}, 1, "invalid Postgres URL"},
		{"unreachable", []string{"--pg-url", "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"}, 1, "cannot reach Postgres"},
		{"empty role", []string{"--pg-url", "postgres://127.0.0.1/db", "--as", ""}, 2, "--as must not be empty"},
		{"extra argument", []string{"now"}, 2, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, append([]string{"doctor", "--json"}, tc.args...)...)
			if tc.code == 2 && code == 1 && isCobraUsageError(errors.New(stderr)) {
				code = 2 // Execute maps cobra's own usage errors to 2
			}
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, tc.code, tc.msg)
			}
			if strings.Contains(stderr, "secret") {
				t.Errorf("stderr shows the password: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on failure to check", stdout)
			}
		})
	}
}

func TestDoctorURLFromEnvironment(t *testing.T) {
	db := pgtest.NewDB(t)
	t.Setenv("LIVESYNC_POSTGRES_URL", db.URL)
	stdout, stderr, code := runCLI(t, "doctor", "--json")
	if code != 0 || !parseDoctor(t, stdout).OK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}
