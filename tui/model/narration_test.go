package model_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// TestNarrationWaitEndsOnAdvanceTimerOrCancel: Advance ends a wait (and
// only a wait in progress), the pause ends one by itself, ctx ends one
// with its error; a subscriber sees every caption, the current one first.
func TestNarrationWaitEndsOnAdvanceTimerOrCancel(t *testing.T) {
	n := model.NewNarration()
	if _, ok := n.Current(); ok {
		t.Fatal("a caption before any was shown")
	}
	if n.Advance() {
		t.Fatal("Advance reported true with no wait")
	}
	n.Show(model.Caption{Step: 1, Total: 2, Name: "one", Status: model.StepOK})
	seen := make(chan model.Caption, 10)
	cancel := n.Subscribe(func(c model.Caption) { seen <- c })
	if c := <-seen; c.Step != 1 || c.Waiting {
		t.Fatalf("first caption = %+v, want step 1 not waiting", c)
	}

	done := make(chan error, 1)
	go func() { done <- n.Wait(context.Background(), 0) }()
	c := <-seen
	if !c.Waiting || !c.AutoAt.IsZero() {
		t.Fatalf("caption while waiting = %+v, want waiting with no timer", c)
	}
	if !n.Advance() {
		t.Fatal("Advance during the wait reported false")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n.Advance() {
		t.Fatal("a second Advance after the wait ended reported true")
	}

	start := time.Now()
	if err := n.Wait(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if c := <-seen; !c.Waiting || c.AutoAt.Before(start) {
		t.Fatalf("caption with a timer = %+v, want waiting with AutoAt set", c)
	}

	ctx, stop := context.WithCancel(context.Background())
	go func() { done <- n.Wait(ctx, 0) }()
	<-seen
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v", err)
	}

	cancel()
	n.Show(model.Caption{Step: 2, Total: 2})
	select {
	case c := <-seen:
		t.Fatalf("a cancelled subscriber got %+v", c)
	default:
	}
}
