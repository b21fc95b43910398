package model_test

import (
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

func TestKeymapRemap(t *testing.T) {
	uu := map[string]struct {
		remap map[string]string
		err   string
	}{
		"defaults":       {},
		"remap":          {remap: map[string]string{"quit": "x", "delete": "ctrl-k"}},
		"unknown action": {remap: map[string]string{"explode": "x"}, err: "unknown action"},
		"tmux prefix":    {remap: map[string]string{"quit": "ctrl-b"}, err: "tmux"},
		"screen prefix":  {remap: map[string]string{"quit": "Ctrl-A"}, err: "tmux"},
		"clash":          {remap: map[string]string{"quit": "r"}, err: "bound to both"},
		"bad key":        {remap: map[string]string{"quit": "hyper-q"}, err: "unknown key"},
	}
	for k, u := range uu {
		t.Run(k, func(t *testing.T) {
			km, err := model.NewKeymap(u.remap)
			if u.err != "" {
				if err == nil || !strings.Contains(err.Error(), u.err) {
					t.Fatalf("err = %v, want %q", err, u.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for a, key := range u.remap {
				if got := km.Key(model.Action(a)); got != key {
					t.Errorf("%s bound to %q, want %q", a, got, key)
				}
			}
		})
	}
}

func TestNoDefaultUsesTmuxPrefix(t *testing.T) {
	for _, b := range model.DefaultBindings() {
		if b.Key == "ctrl-a" || b.Key == "ctrl-b" {
			t.Errorf("%s defaults to %s", b.Action, b.Key)
		}
	}
}

func TestLookupReadonlyRefusesDangerous(t *testing.T) {
	km, err := model.NewKeymap(nil)
	if err != nil {
		t.Fatal(err)
	}
	del := tcell.NewEventKey(tcell.KeyRune, 'd', tcell.ModCtrl)
	if a, ok := km.Lookup(del, false); !ok || a != model.ActDelete {
		t.Fatalf("ctrl-d = %q %v", a, ok)
	}
	if _, ok := km.Lookup(del, true); ok {
		t.Fatal("read-only resolved ctrl-d")
	}
	for _, b := range km.Bindings(true) {
		if b.Dangerous {
			t.Errorf("read-only lists %s", b.Action)
		}
	}
	if a, ok := km.Lookup(tcell.NewEventKey(tcell.KeyRune, ' ', tcell.ModNone), false); !ok || a != model.ActMark {
		t.Fatalf("space = %q %v", a, ok)
	}
	if a, ok := km.Lookup(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone), false); !ok || a != model.ActInspect {
		t.Fatalf("enter = %q %v", a, ok)
	}
}

func TestPrettyJSONSortsKeysAndKeepsNumbers(t *testing.T) {
	got := model.PrettyJSON([]byte(`{"b":[1,2.50,{"y":null,"x":"<&>"}],"a":123456789012345678901234567890,"c":{}}`))
	want := "{\n  \"a\": 123456789012345678901234567890,\n  \"b\": [\n    1,\n    2.50,\n    {\n      \"x\": \"<&>\",\n      \"y\": null\n    }\n  ],\n  \"c\": {}\n}"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := model.PrettyJSON([]byte(`{oops`)); got != `{oops` {
		t.Fatalf("invalid JSON changed: %q", got)
	}
}

func TestRingAndFiltered(t *testing.T) {
	r := model.NewRing[int](3)
	f := model.NewFiltered(r, func(v int) bool { return v%2 == 0 })
	for i := range 6 {
		r.Push(i)
	}
	f.Sync()
	if r.Len() != 3 || r.Base() != 3 {
		t.Fatalf("len %d base %d", r.Len(), r.Base())
	}
	if f.Len() != 1 {
		t.Fatalf("filtered %d, want only 4", f.Len())
	}
	if v, abs, ok := f.At(0); !ok || v != 4 || abs != 4 {
		t.Fatalf("At(0) = %d %d %v", v, abs, ok)
	}
	if _, ok := r.At(1); ok {
		t.Fatal("evicted entry readable")
	}
	if f.Index(4) != 0 || f.Index(5) != -1 {
		t.Fatal("Index")
	}
	r.Resize(1)
	if v, ok := r.At(5); !ok || v != 5 || r.Len() != 1 {
		t.Fatalf("resize kept %d", r.Len())
	}
}

func TestMatcher(t *testing.T) {
	m := model.NewMatcher("Orders")
	if !m.Match("x", "my-orders:1") || m.Match("chat") {
		t.Fatal("substring match")
	}
	inv := model.NewMatcher("!orders")
	if inv.Match("orders:1") || !inv.Match("chat") {
		t.Fatal("inverse match")
	}
}

func TestMarkdownTableListsEveryAction(t *testing.T) {
	md := model.MarkdownTable()
	for _, b := range model.DefaultBindings() {
		if !strings.Contains(md, "| `"+string(b.Action)+"` |") {
			t.Errorf("table lacks %s", b.Action)
		}
	}
}
