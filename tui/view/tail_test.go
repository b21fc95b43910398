package view_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// published returns a published event for row seq on ch.
func published(seq int64, ch string) connector.Event {
	return connector.Event{Time: fake.At.Add(time.Duration(seq) * time.Millisecond), Kind: connector.EventPublished,
		Node: "node-a", Channel: ch, SequenceID: seq, Latency: time.Millisecond}
}

// lastDataRow returns the last non-empty table row inside the Channels panel.
func selectedTailText(t *testing.T, b *bundle) string {
	t.Helper()
	_, doc, ok := b.app.Focused().Inspect()
	if !ok {
		t.Fatal("nothing selected in the tail")
	}
	return string(doc)
}

func TestTailFollowsThenPausesWhenScrolledUp(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ(":channels\r")
	b.key(tcell.KeyTab) // the tail beside the channel list
	var evs []connector.Event
	for i := int64(1); i <= 5; i++ {
		evs = append(evs, published(i, "orders:1"))
	}
	b.app.ApplyEvents(evs)
	if got := selectedTailText(t, b); !strings.Contains(got, `"id":"5"`) {
		t.Fatalf("following: selected %s, want the newest", got)
	}
	lacks(t, b.screenText(t), "PAUSED")
	b.key(tcell.KeyUp)
	contains(t, b.screenText(t), "PAUSED")
	b.app.ApplyEvents([]connector.Event{published(6, "orders:1")})
	if got := selectedTailText(t, b); !strings.Contains(got, `"id":"4"`) {
		t.Fatalf("paused: selected %s, want row 4 to stay", got)
	}
	b.typ("f")
	lacks(t, b.screenText(t), "PAUSED")
	if got := selectedTailText(t, b); !strings.Contains(got, `"id":"6"`) {
		t.Fatalf("follow: selected %s, want the newest", got)
	}
}

func TestTailShowsPublishedAndReceivedAndFilters(t *testing.T) {
	b := setup(t, 5, nil)
	b.app.ApplyEvents([]connector.Event{published(7, "orders:1"), published(8, "orders:2")})
	b.app.ApplyTail([]monitor.TailMessage{{Channel: "orders:2", ID: "8", Name: "update", Data: []byte(nil)}})
	b.typ("6")
	b.key(tcell.KeyTab)
	text := b.screenText(t)
	contains(t, text, "→ pub", "← recv", "orders:1", "orders:2")
	b.typ("/orders:2")
	b.key(tcell.KeyEnter)
	lines := b.render(t, 200, 50)
	for _, l := range lines {
		if strings.Contains(l, "→ pub") && strings.Contains(l, "orders:1") {
			t.Fatalf("filter kept %q", l)
		}
	}
}

func TestChannelListChoosesChannelAndShowsOccupancy(t *testing.T) {
	b := setup(t, 5, nil)
	b.app.ApplyEvents([]connector.Event{published(7, "orders:1"), published(8, "orders:2")})
	b.typ("6")
	contains(t, strings.Join(b.render(t, 200, 50), "\n"), "(all)", "subs 1 pubs 1 conns 2")
	b.key(tcell.KeyDown) // orders:1
	b.key(tcell.KeyEnter)
	if _, ok := b.app.Focused().(*view.TailPanel); !ok {
		t.Fatalf("focus = %T, want the tail", b.app.Focused())
	}
	contains(t, b.screenText(t), "channel orders:1")
	if got := selectedTailText(t, b); !strings.Contains(got, `"channel":"orders:1"`) {
		t.Fatalf("selected %s", got)
	}
}

func TestLogViewListsEvents(t *testing.T) {
	b := setup(t, 5, nil)
	b.app.ApplyEvents([]connector.Event{
		{Time: fake.At, Kind: connector.EventLeaseGained, Node: "node-a"},
		{Time: fake.At, Kind: connector.EventFailed, Node: "node-a", Channel: "orders:1", SequenceID: 3, Code: 40009, Message: "too big"},
	})
	b.typ("7")
	contains(t, b.screenText(t), "node-a lease_gained", "failed channel=orders:1 seq=3 code=40009 too big")
	b.typ("/lease")
	lacks(t, b.screenText(t), "too big")
	contains(t, strings.Join(b.render(t, 80, 24), "\n"), "Errors 1")
}

func TestNodesViewFilter(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("3/node-b")
	text := b.screenText(t)
	contains(t, text, "node-b", "dead")
	lacks(t, text, "node-a (ours)")
}

func TestOutboxNeverLoadsTheWholeTable(t *testing.T) {
	b := setup(t, 10_000_000, nil)
	b.typ("2")
	for range 30 {
		b.key(tcell.KeyPgDn)
		b.render(t, 80, 24)
	}
	b.src.Lists = b.src.Lists[:0]
	b.key(tcell.KeyEnd) // must not walk to row 10M
	b.render(t, 80, 24)
	if n := len(b.src.Lists); n > 2 {
		t.Fatalf("End fetched %d pages", n)
	}
	for _, l := range b.src.Lists {
		if l.Limit > 1000 {
			t.Fatalf("page of %d rows", l.Limit)
		}
	}
	_, doc, ok := b.app.Focused().Inspect()
	if !ok || !strings.Contains(string(doc), `"sequenceId"`) {
		t.Fatalf("selected %s", doc)
	}
	if pages := view.CachedPages(b.app); pages > 20 {
		t.Fatalf("%d pages cached", pages)
	}
}

// TestOutboxDoesNotChaseItsEnd: pages that arrive after a draw of the empty
// table must not scroll it to the end and load page after page (tview's
// end tracking), and the first rows must show once their page arrives.
func TestOutboxDoesNotChaseItsEnd(t *testing.T) {
	var queue []func()
	src := &fake.Source{Rows: 1000, Snap: fake.Snapshot1()}
	a, err := view.New(view.Options{Source: src, Async: func(f func()) { f() }, Post: func(f func()) { queue = append(queue, f) },
		Now: func() time.Time { return fake.At }})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{app: a, src: src}
	a.Refresh()
	for range 10 {
		b.render(t, 80, 24)
		q := queue
		queue = nil
		for _, f := range q {
			f()
		}
	}
	if n := len(src.Lists); n > 2 {
		t.Fatalf("%d pages fetched for one screen", n)
	}
	contains(t, strings.Join(b.render(t, 80, 24), "\n"), " 1  orders:1")
}
