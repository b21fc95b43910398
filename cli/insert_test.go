package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/internal/pgtest"
)

// outboxCount counts the outbox rows.
func outboxCount(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	var n int
	if err := db.Admin(t).QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInsertWritesRowsInOneTransaction(t *testing.T) {
	db := pgtest.NewDB(t)
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, []byte(`{"big": 12345678901234567890, "s": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "insert", "--channel", "orders", "--name", "created", "--data", "@"+file,
		"--headers", `{"h":"v"}`, "--count", "3", "--rejected", "--json", "--pg-url", db.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		SequenceIDs []int64
		MutationIDs []string
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.SequenceIDs) != 3 || doc.SequenceIDs[0] != 1 || doc.SequenceIDs[2] != 3 {
		t.Fatalf("stdout %q (%v)", out, err)
	}
	if len(doc.MutationIDs) != 3 {
		t.Fatalf("mutationIds %v, want 3", doc.MutationIDs)
	}
	for i, id := range doc.SequenceIDs {
		var mut string
		if err := db.Admin(t).QueryRow(context.Background(), "SELECT mutation_id FROM outbox WHERE sequence_id = $1", id).Scan(&mut); err != nil || mut != doc.MutationIDs[i] {
			t.Errorf("row %d has mutation id %q, insert printed %q (%v)", id, mut, doc.MutationIDs[i], err)
		}
	}
	var data, headers string
	var rejected bool
	var muts int
	err := db.Admin(t).QueryRow(context.Background(),
		"SELECT data::text, headers::text, bool_and(rejected), count(DISTINCT mutation_id) FROM outbox GROUP BY 1, 2").Scan(&data, &headers, &rejected, &muts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(data, "12345678901234567890") || headers != `{"h": "v"}` || !rejected || muts != 3 {
		t.Fatalf("rows: data %s headers %s rejected %v distinct mutation ids %d", data, headers, rejected, muts)
	}
	if _, _, code := runCLI(t, "insert", "--channel", "c", "--name", "n", "--mutation-id", "same", "--count", "2", "--pg-url", db.URL); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var same int
	_ = db.Admin(t).QueryRow(context.Background(), "SELECT count(*) FROM outbox WHERE mutation_id = 'same' AND data IS NULL").Scan(&same)
	if same != 2 {
		t.Fatalf("rows with the given mutation id and NULL data: %d", same)
	}
}

// TestInsertPrintsTheMutationIDToTrace: insert prints the mutation id it
// generated and the trace command to run; running that command finds the
// row.
func TestInsertPrintsTheMutationIDToTrace(t *testing.T) {
	db := pgtest.NewDB(t)
	out, stderr, code := runCLI(t, "insert", "--channel", "trace:1", "--name", "t", "--data", `{"a":1}`, "--pg-url", db.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var mut string
	if err := db.Admin(t).QueryRow(context.Background(), "SELECT mutation_id FROM outbox").Scan(&mut); err != nil {
		t.Fatal(err)
	}
	const advice = "trace it: livesync-dev "
	i := strings.Index(out, advice)
	if !strings.Contains(out, "inserted 1 row(s) on trace:1: 1\nmutation id "+mut+"\n") || i < 0 {
		t.Fatalf("output %q lacks the row, its mutation id %s and the trace command", out, mut)
	}
	args := strings.Fields(strings.TrimSpace(out[i+len(advice):]))
	if len(args) != 4 || args[3] != mut {
		t.Fatalf("advised command %v does not trace mutation %s", args, mut)
	}
	trace, stderr, code := runCLI(t, append(args, "--pg-url", db.URL)...)
	if code != 0 || !strings.Contains(trace, "row 1 on trace:1 (name t, mutation "+mut+"): in the outbox, waiting") {
		t.Fatalf("the advised trace (exit %d): %s%s", code, trace, stderr)
	}

	out, _, code = runCLI(t, "insert", "--channel", "c", "--name", "n", "--count", "2", "--pg-url", db.URL)
	if code != 0 || strings.Count(out, ": mutation id ") != 2 || !strings.Contains(out, "  row 2: mutation id ") || !strings.Contains(out, "  row 3: mutation id ") {
		t.Fatalf("two rows with their own mutation ids: %q", out)
	}
}

func TestInsertRefusesBadInputBeforeWriting(t *testing.T) {
	db := pgtest.NewDB(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad data", []string{"--data", "{\n  \"a\": 1,\n  oops\n}"}, 2, "line 3, column 3"},
		{"trailing data", []string{"--data", `{"a":1} x`}, 2, "after the JSON value"},
		{"truncated headers", []string{"--headers", `{"a":`}, 2, "headers is not valid JSON"},
		{"headers not object", []string{"--headers", `[1]`}, 2, "JSON object"},
		{"missing file", []string{"--data", "@/nonexistent/event.json"}, 2, "nonexistent"},
		{"mongo", []string{"--mongo"}, 2, "does not apply with --mongo"},
		{"readonly", []string{"--readonly"}, 1, "read-only"},
		{"count", []string{"--count", "0"}, 2, "--count"},
		{"bracket channel", []string{"--channel", "[x]y"}, 2, "must not start with '['"},
		{"colon channel", []string{"--channel", ":foo"}, 2, "must not start with ':'"},
		{"newline channel", []string{"--channel", "a\nb"}, 2, "must not contain a line break"},
		{"nested header", []string{"--headers", `{"a":{"b":1}}`}, 2, `header "a" has an object value`},
		{"array header", []string{"--headers", `{"a":[1]}`}, 2, `header "a" has an array value`},
	}
	for _, c := range cases {
		args := append([]string{"insert", "--channel", "c", "--name", "n", "--pg-url", db.URL}, c.args...)
		_, stderr, code := runCLI(t, args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, stderr, c.code, c.want)
		}
	}
	if _, stderr, code := runCLI(t, "insert", "--name", "n", "--pg-url", db.URL); code != 2 || !strings.Contains(stderr, "--channel") {
		t.Errorf("no channel: exit %d %s", code, stderr)
	}
	if n := outboxCount(t, db); n != 0 {
		t.Fatalf("%d rows written by refused inserts", n)
	}
}

func TestWritesRefusedForARoleThatCannotWrite(t *testing.T) {
	db := pgtest.NewDB(t)
	seedOutbox(t, db)
	admin := db.Admin(t)
	ctx := context.Background()
	for _, s := range []string{
		"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader_only') THEN CREATE ROLE reader_only LOGIN PASSWORD 'r'; END IF; END $$",
		"GRANT SELECT ON outbox, nodes TO reader_only",
	} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	url := strings.Replace(db.URL, "livesync_user:"+pgtest.RolePassword, "reader_only:r", 1)
	if _, stderr, code := runCLI(t, "outbox", "retry", "2", "--yes", "--pg-url", url); code != 1 || !strings.Contains(stderr, "may not retry") {
		t.Fatalf("retry as a reader: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "insert", "--channel", "c", "--name", "n", "--pg-url", url); code != 1 || !strings.Contains(stderr, "may not insert") {
		t.Fatalf("insert as a reader: exit %d %s", code, stderr)
	}
	if lockOf(t, db, 2) != "node-dead" {
		t.Fatal("row changed")
	}
	if _, stderr, code := runCLI(t, "status", "--pg-url", url); code != 0 {
		t.Fatalf("status as a reader: exit %d %s", code, stderr)
	}
}

func TestStatusWithoutOutboxGivesDoctorAdvice(t *testing.T) {
	db := pgtest.NewEmptyDB(t)
	_, stderr, code := runCLI(t, "status", "--pg-url", db.AdminURL)
	if code != 1 || !strings.Contains(stderr, "doctor") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
