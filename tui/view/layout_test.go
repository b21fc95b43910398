package view_test

import (
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
)

// feed gives the app a published event and the matching received message.
func feed(b *bundle, n int) {
	var evs []connector.Event
	var msgs []monitor.TailMessage
	for i := 1; i <= n; i++ {
		at := fake.At.Add(time.Duration(i) * time.Millisecond)
		evs = append(evs, connector.Event{Time: at, Kind: connector.EventPublished, Node: "node-a",
			Channel: "orders:1", SequenceID: int64(i), Latency: 1500 * time.Microsecond})
		msgs = append(msgs, monitor.TailMessage{Channel: "orders:1", ID: itoa(i), Name: "update",
			Data: []byte(nil)})
	}
	b.app.ApplyEvents(evs)
	b.app.ApplyTail(msgs)
}

func TestLayoutGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {200, 50}} {
		b := setup(t, 50, nil)
		feed(b, 3)
		b.clock.t = b.clock.t.Add(2 * time.Second)
		lines := b.render(t, size.w, size.h)
		text := strings.Join(lines, "\n")
		contains(t, text, " Outbox ", " Nodes ", " Channels ", "Backlog 12,345", "node-a")
		golden(t, "dashboard_"+itoa(size.w)+"x"+itoa(size.h)+".golden", lines)
	}
}

func TestLayoutGoldenStuck(t *testing.T) {
	b := setup(t, 50, nil)
	b.typ("4")
	golden(t, "stuck_80x24.golden", b.render(t, 80, 24))
}

func TestNodeCountdownRunsWithTheClock(t *testing.T) {
	b := setup(t, 10, nil)
	b.typ("3")
	contains(t, b.screenText(t), "12.0s", "expired 5.0s ago", "dead")
	b.clock.t = b.clock.t.Add(2 * time.Second)
	text := b.screenText(t)
	contains(t, text, "10.0s", "expired 7.0s ago")
	lacks(t, text, "12.0s")
}
