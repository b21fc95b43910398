package view_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/tui/model"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// withEndpoint starts a real local endpoint and hands the fake source the
// real fault client `livesync-dev fault` uses.
func withEndpoint(t *testing.T, b *bundle) *ablylocal.Server {
	t.Helper()
	srv, err := ablylocal.Start(context.Background(), ablylocal.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(srv.Addr())
	b.src.Faults = &ablylocal.FaultClient{Addr: net.JoinHostPort(host, port), Key: srv.Keys()[0].String()}
	return srv
}

// TestPaletteFaultAddListClear adds a rule with `:fault add demo:* 40160`,
// lists it, clears all (confirmed, Cancel first) on a real endpoint.
func TestPaletteFaultAddListClear(t *testing.T) {
	b := setup(t, 3, nil)
	srv := withEndpoint(t, b)
	typeKeys(b, ":fault add demo:* 40160\r")
	rules := srv.Faults()
	if len(rules) != 1 || rules[0].Channel != "demo:*" || rules[0].Code != 40160 {
		t.Fatalf("endpoint rules = %+v, want demo:* refuse 40160", rules)
	}
	contains(t, b.screenText(t), "added fault "+rules[0].ID+": demo:* refuse 40160")

	typeKeys(b, ":fault add orders delay=2s for=1m\r")
	if rules := srv.Faults(); len(rules) != 2 || rules[1].Channel != "orders" || time.Duration(rules[1].DelayAck) != 2*time.Second {
		t.Fatalf("endpoint rules = %+v, want a 2s ACK delay on orders", rules)
	}

	typeKeys(b, ":fault list\r")
	if _, ok := b.app.Overlay().(*view.Inspector); !ok {
		t.Fatalf("overlay = %T, want the inspector", b.app.Overlay())
	}
	contains(t, b.screenText(t), "2 fault rules in force", "40160", "demo:*")
	b.key(tcell.KeyEscape)

	// Clear one by id: no dialog.
	typeKeys(b, ":fault clear "+rules[0].ID+"\r")
	if n := len(srv.Faults()); n != 1 {
		t.Fatalf("after clearing %s: %d rules", rules[0].ID, n)
	}
	contains(t, b.screenText(t), "cleared 1 fault rule")

	// Clear all: the dialog opens with Cancel focused; Enter keeps the rule.
	typeKeys(b, ":fault clear\r")
	c, ok := b.app.Overlay().(*view.Confirm)
	if !ok || !c.CancelFocused() {
		t.Fatalf("overlay = %T (cancel focused: %v), want a confirm with Cancel focused", b.app.Overlay(), ok && c.CancelFocused())
	}
	contains(t, b.screenText(t), "Clear EVERY fault rule", "> Cancel <")
	b.key(tcell.KeyEnter)
	if n := len(srv.Faults()); n != 1 {
		t.Fatalf("Enter on Cancel cleared: %d rules left", n)
	}
	typeKeys(b, ":fault clear\r")
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	if n := len(srv.Faults()); n != 0 {
		t.Fatalf("confirmed clear left %d rules", n)
	}
}

// TestPaletteFaultBadRule: a bad rule gets the validation message and
// reaches nothing.
func TestPaletteFaultBadRule(t *testing.T) {
	b := setup(t, 3, nil)
	srv := withEndpoint(t, b)
	for line, want := range map[string]string{
		":fault add demo:* 123":          "code 123 is not an Ably error code",
		":fault add demo:*":              "the rule injects no fault",
		":fault add delay=soon":          `delay="soon" is not a duration`,
		":fault add demo:* 40160 drop":   "several faults",
		":fault add demo:* colour=red":   `unknown setting "colour"`,
		":fault frob":                    "unknown :fault subcommand",
		":fault add refuse=0s":           "positive duration",
		":fault add demo:* orders 40160": "the channel comes first",
	} {
		typeKeys(b, line+"\r")
		if f := b.app.Flash(); !strings.Contains(f, want) {
			t.Errorf("%s: flash %q lacks %q", line, f, want)
		}
	}
	if n := len(srv.Faults()); n != 0 {
		t.Fatalf("bad rules reached the endpoint: %d", n)
	}
}

// TestReadonlyRefusesFaultWrites: under --readonly add and clear are
// refused, list still works.
func TestReadonlyRefusesFaultWrites(t *testing.T) {
	b := setup(t, 3, func(o *view.Options) { o.Readonly = true })
	srv := withEndpoint(t, b)
	if _, err := b.src.Faults.Add(context.Background(), srvRule()); err != nil {
		t.Fatal(err)
	}
	typeKeys(b, ":fault add demo:* 40160\r")
	contains(t, b.app.Flash(), "read-only")
	typeKeys(b, ":fault clear\r")
	contains(t, b.app.Flash(), "read-only")
	if b.app.Overlay() != nil {
		t.Fatalf("read-only opened %T", b.app.Overlay())
	}
	if n := len(srv.Faults()); n != 1 {
		t.Fatalf("read-only changed the rules: %d", n)
	}
	typeKeys(b, ":fault list\r")
	if _, ok := b.app.Overlay().(*view.Inspector); !ok {
		t.Fatalf("read-only :fault list opened %T", b.app.Overlay())
	}
	b.key(tcell.KeyEscape)
	typeKeys(b, ":hold 1\r")
	contains(t, b.app.Flash(), "read-only")
	b.typ("3")
	b.typ("K")
	b.typ("2")
	b.typ("H")
	if b.app.Overlay() != nil || len(b.src.Signals) != 0 || len(b.src.Holds) != 0 {
		t.Fatalf("read-only: overlay %T, signals %v, holds %v", b.app.Overlay(), b.src.Signals, b.src.Holds)
	}
	b.typ("?")
	help := strings.Join(b.app.Overlay().(*view.Help).Rows(), "\n")
	lacks(t, help, "kill node", "pause node", "hold row lock", ":fault add [CHANNEL]", ":fault clear [ID]", ":hold [ID]")
	contains(t, help, "fault list")
}

// TestNodeKillPauseResumeConfirm: K, P and U on the Nodes view ask first
// with Cancel focused; confirming reaches the source with the node.
func TestNodeKillPauseResumeConfirm(t *testing.T) {
	b := setup(t, 3, nil)
	b.typ("3")
	for _, tc := range []struct {
		key  string
		act  model.NodeAction
		text string
	}{{"K", model.NodeKill, "Kill node node-a as a crash would"}, {"P", model.NodePause, "Pause node node-a"}, {"U", model.NodeResume, "Resume node node-a"}} {
		b.typ(tc.key)
		c, ok := b.app.Overlay().(*view.Confirm)
		if !ok || !c.CancelFocused() {
			t.Fatalf("%s: overlay %T, want a confirm with Cancel focused", tc.key, b.app.Overlay())
		}
		contains(t, b.screenText(t), tc.text, "> Cancel <")
		b.key(tcell.KeyEnter)
		if len(b.src.Signals) != 0 {
			t.Fatalf("%s: Enter on Cancel signalled %v", tc.key, b.src.Signals)
		}
		b.typ(tc.key)
		b.key(tcell.KeyTab)
		b.key(tcell.KeyEnter)
		if len(b.src.Signals) != 1 || b.src.Signals[0] != (model.NodeSignalParams{Node: "node-a", Action: tc.act}) {
			t.Fatalf("%s: signals = %+v", tc.key, b.src.Signals)
		}
		contains(t, b.app.Flash(), "node node-a (pid 4242)")
		b.src.Signals = nil
	}
	// A refusal (e.g. pausing a node inside the dashboard's process) is shown.
	b.src.NodeErr = errors.New("runs inside this dashboard's process")
	b.typ("P")
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	contains(t, b.screenText(t), "pause node-a refused: runs inside this dashboard's process")
	// Elsewhere K says where it works.
	b.typ("2")
	b.typ("K")
	if b.app.Overlay() != nil {
		t.Fatalf("K on the outbox opened %T", b.app.Overlay())
	}
	contains(t, b.app.Flash(), "Nodes view")
}

// TestOutboxHoldConfirm: H on an outbox row asks first; confirming holds
// that row for 30 s; `:hold ID SECONDS` picks the row and the length.
func TestOutboxHoldConfirm(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("2")
	b.typ("H")
	c, ok := b.app.Overlay().(*view.Confirm)
	if !ok || !c.CancelFocused() {
		t.Fatalf("overlay %T, want a confirm with Cancel focused", b.app.Overlay())
	}
	contains(t, b.screenText(t), "Hold the lock of row 1 for 30s", "> Cancel <")
	b.key(tcell.KeyEnter)
	if len(b.src.Holds) != 0 {
		t.Fatalf("Enter on Cancel held %v", b.src.Holds)
	}
	b.typ("H")
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	if len(b.src.Holds) != 1 || b.src.Holds[0].SequenceID != 1 || b.src.Holds[0].Duration != 30*time.Second {
		t.Fatalf("holds = %+v", b.src.Holds)
	}
	contains(t, b.app.Flash(), "released row 1")
	typeKeys(b, ":hold 4 90\r")
	contains(t, b.screenText(t), "Hold the lock of row 4 for 1m30s")
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	if len(b.src.Holds) != 2 || b.src.Holds[1].SequenceID != 4 || b.src.Holds[1].Duration != 90*time.Second {
		t.Fatalf("holds = %+v", b.src.Holds)
	}
	typeKeys(b, ":hold 4 0\r")
	contains(t, b.app.Flash(), "out of range")
	typeKeys(b, ":hold x\r")
	contains(t, b.app.Flash(), "not a sequence id")
}

// srvRule is a rule to have in force.
func srvRule() (r fault.Rule) {
	r.Channel, r.Code = "x", 40160
	return r
}

// TestPaletteCompletesFault: Tab-completion offers fault and hold once.
func TestPaletteCompletesFault(t *testing.T) {
	b := setup(t, 3, nil)
	typeKeys(b, ":fa")
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter)
	contains(t, b.screenText(t), "usage: :fault add")
}
