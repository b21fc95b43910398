package view_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// TestStartPumpsSnapshotEventsAndTail runs the real loops; the test
// goroutine plays the UI goroutine, running what they post.
func TestStartPumpsSnapshotEventsAndTail(t *testing.T) {
	posted := make(chan func(), 100)
	src := &fake.Source{Rows: 3, Snap: fake.Snapshot1(), Ev: make(chan connector.Event, 1), Tail: make(chan monitor.TailMessage, 1)}
	a, err := view.New(view.Options{Source: src, Post: func(f func()) { posted <- f }, Now: func() time.Time { return fake.At }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	src.Ev <- published(42, "orders:7")
	src.Tail <- monitor.TailMessage{Channel: "orders:7", ID: "42", Name: "update"}
	b := &bundle{app: a, src: src}
	deadline := time.After(20 * time.Second) // a failsafe, not a synchronisation
	for {
		select {
		case f := <-posted:
			f()
		case <-deadline:
			t.Fatal("the loops never delivered the snapshot, the event and the message")
		}
		text := strings.Join(b.render(t, 200, 50), "\n")
		if strings.Contains(text, "Backlog 12,345") && strings.Contains(text, "→ pub  orders:7") && strings.Contains(text, "← recv orders:7") {
			return
		}
	}
}
