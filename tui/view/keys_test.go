package view_test

import (
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

func TestNumberKeysAndPaletteSwitchViews(t *testing.T) {
	b := setup(t, 20, nil)
	uu := map[string]struct {
		keys  string
		title string
		e     view.Screen
	}{
		"2":         {keys: "2", title: " Outbox ", e: view.ScreenOutbox},
		"3":         {keys: "3", title: " Nodes ", e: view.ScreenNodes},
		"4":         {keys: "4", title: " Stuck ", e: view.ScreenStuck},
		"5":         {keys: "5", title: " Rejected ", e: view.ScreenRejected},
		"6":         {keys: "6", title: " Channel list ", e: view.ScreenChannels},
		"7":         {keys: "7", title: " Log ", e: view.ScreenLog},
		":stuck":    {keys: ":stuck\r", title: " Stuck ", e: view.ScreenStuck},
		":rejected": {keys: ":rejected\r", title: " Rejected ", e: view.ScreenRejected},
		":channels": {keys: ":channels\r", title: " Channels ", e: view.ScreenChannels},
		":log":      {keys: ":log\r", title: " Log ", e: view.ScreenLog},
		":nodes":    {keys: ":nodes\r", title: " Nodes ", e: view.ScreenNodes},
		":outbox":   {keys: ":outbox\r", title: " Outbox ", e: view.ScreenOutbox},
	}
	for k, u := range uu {
		t.Run(k, func(t *testing.T) {
			b.app.SetScreen(view.ScreenDashboard)
			typeKeys(b, u.keys)
			if got := b.app.Screen(); got != u.e {
				t.Fatalf("screen = %s, want %s", got, u.e)
			}
			contains(t, b.screenText(t), u.title)
			b.key(tcell.KeyEscape)
			if got := b.app.Screen(); got != view.ScreenDashboard {
				t.Fatalf("esc: screen = %s, want dashboard", got)
			}
		})
	}
}

// typeKeys types s, sending \r as Enter.
func typeKeys(b *bundle, s string) {
	for _, r := range s {
		if r == '\r' {
			b.key(tcell.KeyEnter)
			continue
		}
		b.typ(string(r))
	}
}

func TestPaletteUnknownCommandAndInsert(t *testing.T) {
	b := setup(t, 5, nil)
	typeKeys(b, ":bogus\r")
	if !strings.Contains(b.app.Flash(), "unknown command :bogus") {
		t.Fatalf("flash = %q", b.app.Flash())
	}
	typeKeys(b, ":insert orders:9\r")
	f, ok := b.app.Overlay().(*view.InsertForm)
	if !ok {
		t.Fatalf("overlay = %T, want the insert form", b.app.Overlay())
	}
	contains(t, b.screenText(t), "orders:9")
	_ = f
}

func TestQuitOnlyWithoutDialog(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("?")
	b.typ("q") // closes help, does not quit
	if b.quit {
		t.Fatal("q quit while the help overlay was open")
	}
	if b.app.Overlay() != nil {
		t.Fatal("q did not close help")
	}
	b.typ("q")
	if !b.quit {
		t.Fatal("q did not quit")
	}
}

func TestHelpOverlaySearch(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("?")
	h, ok := b.app.Overlay().(*view.Help)
	if !ok {
		t.Fatalf("overlay = %T, want help", b.app.Overlay())
	}
	contains(t, b.screenText(t), " Help ", "<ctrl-d>", "delete", ":stuck")
	all := len(h.Rows())
	b.typ("/delete")
	rows := h.Rows()
	if len(rows) == 0 || len(rows) >= all {
		t.Fatalf("search kept %d of %d rows: %v", len(rows), all, rows)
	}
	for _, r := range rows {
		if !strings.Contains(r, "delete") {
			t.Errorf("row %q does not match the search", r)
		}
	}
	b.key(tcell.KeyEscape) // clears the search
	if len(h.Rows()) != all {
		t.Fatalf("esc kept the search: %d rows", len(h.Rows()))
	}
	b.key(tcell.KeyEscape) // closes
	if b.app.Overlay() != nil {
		t.Fatal("esc did not close help")
	}
}

func TestReadonlyHidesWrites(t *testing.T) {
	b := setup(t, 20, func(o *view.Options) { o.Readonly = true })
	text := strings.Join(b.render(t, 200, 50), "\n")
	contains(t, text, "READ-ONLY", "<q> quit")
	lacks(t, text, "<ctrl-d>", "<r> retry", "<i> insert")
	b.typ("2")
	b.ctrl('d')
	b.typ("r")
	b.typ("i")
	typeKeys(b, ":insert\r")
	if b.app.Overlay() != nil {
		t.Fatalf("read-only opened %T", b.app.Overlay())
	}
	b.typ("?")
	help := strings.Join(b.app.Overlay().(*view.Help).Rows(), "\n")
	lacks(t, help, "<ctrl-d> delete", "<r> retry", "<i> insert", "retryFiltered", "deleteFiltered")
}

func TestConfirmCancelFocusedAndEnterChangesNothing(t *testing.T) {
	b := setup(t, 20, nil)
	b.typ("2")
	b.ctrl('d')
	c, ok := b.app.Overlay().(*view.Confirm)
	if !ok {
		t.Fatalf("overlay = %T, want confirm", b.app.Overlay())
	}
	if !c.CancelFocused() {
		t.Fatal("Cancel is not focused")
	}
	contains(t, b.screenText(t), "Delete 1 row: 1", "DELETE FROM public.outbox WHERE sequence_id = ANY('{1}')", "> Cancel <")
	b.key(tcell.KeyEnter)
	if b.app.Overlay() != nil {
		t.Fatal("Enter on Cancel left the dialog open")
	}
	if _, dels, _ := b.src.Calls(); len(dels) != 0 {
		t.Fatalf("Enter on Cancel deleted: %v", dels)
	}
	b.ctrl('d')
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	_, dels, _ := b.src.Calls()
	if len(dels) != 1 || len(dels[0].IDs) != 1 || dels[0].IDs[0] != 1 {
		t.Fatalf("deletes = %+v, want row 1", dels)
	}
}

func TestMarkedRowsAndFilterBulk(t *testing.T) {
	b := setup(t, 20, nil)
	b.typ("2")
	b.typ("  ") // mark rows 1 and 2
	b.typ("r")
	c := b.app.Overlay().(*view.Confirm)
	contains(t, b.screenText(t), "Retry 2 rows: 1, 2", "ANY('{1,2}')")
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	_ = c
	retries, _, _ := b.src.Calls()
	if len(retries) != 1 || len(retries[0].IDs) != 2 {
		t.Fatalf("retries = %+v", retries)
	}
	b.typ("R")
	contains(t, b.screenText(t), "EVERY row matching")
	b.key(tcell.KeyEscape)
	if retries, _, _ := b.src.Calls(); len(retries) != 1 {
		t.Fatalf("esc retried: %+v", retries)
	}
	b.typ("5")
	b.typ("/orders:1")
	b.key(tcell.KeyEnter)
	b.ctrl('x')
	b.key(tcell.KeyRight)
	b.key(tcell.KeyEnter)
	_, dels, _ := b.src.Calls()
	if len(dels) != 1 || !dels[0].ByFilter || dels[0].Filter != monitor.RejectedRows || dels[0].Text != "orders:1" {
		t.Fatalf("deletes = %+v, want every rejected row matching orders:1", dels)
	}
}

func TestFilterOutboxGoesToTheSource(t *testing.T) {
	b := setup(t, 30, nil)
	b.typ("2")
	before := len(b.src.Lists)
	b.typ("/orders:2")
	if n := len(b.src.Lists); n != before {
		t.Fatalf("typing queried the database %d times before Enter", n-before)
	}
	b.key(tcell.KeyEnter)
	if last := b.src.Lists[len(b.src.Lists)-1]; last.Text != "orders:2" || last.After != 0 {
		t.Fatalf("last page asked = %+v", last)
	}
	text := b.screenText(t)
	contains(t, text, "/orders:2", "orders:2")
	lacks(t, text, "orders:0", "orders:1 ")
	b.key(tcell.KeyEscape) // clears the filter
	contains(t, b.screenText(t), "orders:1")
	if b.app.Screen() != view.ScreenOutbox {
		t.Fatal("first esc should only clear the filter")
	}
}

func TestFilterEscRestoresPrevious(t *testing.T) {
	b := setup(t, 30, nil)
	b.typ("4/blocked")
	contains(t, b.screenText(t), "Row 5 waits")
	lacks(t, b.screenText(t), "Row 2 is locked")
	b.key(tcell.KeyEscape)
	contains(t, b.screenText(t), "Row 2 is locked")
}

func TestInspectSortedExactAndCopy(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("2")
	b.key(tcell.KeyEnter) // the row's journey
	b.key(tcell.KeyEnter) // its JSON
	ins, ok := b.app.Overlay().(*view.Inspector)
	if !ok {
		t.Fatalf("overlay = %T, want inspector", b.app.Overlay())
	}
	doc := ins.JSON()
	if !strings.Contains(doc, `"big": 12345678901234567890123`) {
		t.Errorf("number not exact:\n%s", doc)
	}
	if strings.Index(doc, `"a": "1"`) > strings.Index(doc, `"b": "2"`) || strings.Index(doc, `"big"`) > strings.Index(doc, `"z"`) {
		t.Errorf("keys not sorted:\n%s", doc)
	}
	b.typ("c")
	if string(b.copied) != doc {
		t.Fatalf("copied %q, want the document", b.copied)
	}
	b.key(tcell.KeyEscape) // back to the journey
	b.key(tcell.KeyEscape)
	if b.app.Overlay() != nil {
		t.Fatal("esc did not close the inspector and the journey")
	}
	b.copied = nil
	b.typ("c")
	if !strings.Contains(string(b.copied), `"sequenceId": 1`) {
		t.Fatalf("c on the row copied %q", b.copied)
	}
}

func TestInsertFormValidatesAsYouType(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("i")
	f := b.app.Overlay().(*view.InsertForm)
	f.SetField(view.FieldChannel, "orders:1")
	f.SetField(view.FieldData, `{"a": }`)
	if s := f.Status(); !strings.Contains(s, "line 1, column 7") {
		t.Fatalf("status = %q, want the error position", s)
	}
	f.SetField(view.FieldData, `{"a": 1}`)
	f.SetField(view.FieldHeaders, `[1]`)
	if s := f.Status(); !strings.Contains(s, "headers must be a JSON object") {
		t.Fatalf("status = %q", s)
	}
	f.SetField(view.FieldHeaders, `{"a":{"b":1}}`)
	if s := f.Status(); !strings.Contains(s, `header "a" has an object value`) {
		t.Fatalf("status = %q, want the nested header refused (Ably's 40032)", s)
	}
	f.SetField(view.FieldChannel, "[x]y")
	f.SetField(view.FieldHeaders, `{"h":"v"}`)
	if s := f.Status(); !strings.Contains(s, "must not start with '['") {
		t.Fatalf("status = %q, want the channel rule", s)
	}
	f.SetField(view.FieldChannel, "orders:1")
	f.SetField(view.FieldHeaders, `{"h":"v"}`)
	if s := f.Status(); !strings.Contains(s, "ready") {
		t.Fatalf("status = %q, want ready", s)
	}
	// Tab through the fields to the Insert button and press it.
	for range 7 {
		b.key(tcell.KeyTab)
	}
	b.key(tcell.KeyEnter)
	_, _, ins := b.src.Calls()
	if len(ins) != 1 || ins[0].Channel != "orders:1" || string(ins[0].Data) != `{"a": 1}` || ins[0].MutationID == "" || ins[0].Count != 1 {
		t.Fatalf("inserts = %+v", ins)
	}
	if !strings.Contains(b.app.Flash(), "inserted 1 row into orders:1: 6") {
		t.Fatalf("flash = %q", b.app.Flash())
	}
}

func TestInsertFormRefusesInvalidSubmit(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("i")
	f := b.app.Overlay().(*view.InsertForm)
	f.SetField(view.FieldData, `{`)
	for range 7 {
		b.key(tcell.KeyTab)
	}
	b.key(tcell.KeyEnter)
	if _, _, ins := b.src.Calls(); len(ins) != 0 {
		t.Fatalf("invalid form inserted %+v", ins)
	}
	if b.app.Overlay() == nil {
		t.Fatal("invalid submit closed the form")
	}
}

func TestConfigReloadKeepsRunningConfigOnError(t *testing.T) {
	b := setup(t, 5, nil)
	err := b.app.ApplyDashboardConfig(config.Dashboard{Keys: map[string]string{"quit": "ctrl-b"}})
	if err == nil {
		t.Fatal("ctrl-b accepted")
	}
	contains(t, b.screenText(t), "config: dashboard.keys.quit", "running config kept")
	b.typ("q")
	if !b.quit {
		t.Fatal("the old quit key stopped working")
	}
	b.quit = false
	if err := b.app.ApplyDashboardConfig(config.Dashboard{Keys: map[string]string{"quit": "x"}, Theme: "light"}); err != nil {
		t.Fatal(err)
	}
	lacks(t, b.screenText(t), "running config kept")
	b.typ("q")
	if b.quit {
		t.Fatal("q still quits after remapping")
	}
	b.typ("x")
	if !b.quit || b.app.Theme().Name != "light" {
		t.Fatalf("remap not applied: quit=%v theme=%s", b.quit, b.app.Theme().Name)
	}
}

func TestMonoThemeWithNoColor(t *testing.T) {
	b := setup(t, 5, func(o *view.Options) { o.NoColor = true; o.Dashboard.Theme = "light" })
	if b.app.Theme().Name != "mono" {
		t.Fatalf("theme = %s, want mono", b.app.Theme().Name)
	}
}
