package model

import (
	"context"
	"sync"
	"time"
)

// StepStatus is where a narrated step is.
type StepStatus string

// The step statuses.
const (
	// StepRunning: the step is being played and checked.
	StepRunning StepStatus = "running"
	// StepOK: the step did what it should; Caption.Result says what.
	StepOK StepStatus = "ok"
	// StepFailed: the step's expectation failed; Caption.Result is the
	// error and the script stops there.
	StepFailed StepStatus = "fail"
)

// Caption is what the dashboard shows of a narrated script (`livesync-dev
// demo`): the current step, its caption and how it went.
type Caption struct {
	// Step is the step's number, from 1; Total is the number of steps.
	Step, Total int
	// Name is the step's short name; Text its caption.
	Name, Text string
	// Status is running, ok or fail.
	Status StepStatus
	// Result is what the step showed (ok) or why it failed (fail).
	Result string
	// Took is how long the step took (ok or fail).
	Took time.Duration
	// Waiting is true while the script waits for the advance key (or the
	// timer) before the next step.
	Waiting bool
	// AutoAt is when the script advances by itself while Waiting; zero
	// means it waits for the key.
	AutoAt time.Time
	// Finished is true once every step passed; Result then sums it up.
	Finished bool
}

// Narration is the seam between a narrated script and the dashboard: the
// script shows captions and waits between steps; the view subscribes to
// the captions and signals the advance key. Safe for concurrent use.
type Narration struct {
	mu      sync.Mutex
	cur     Caption
	shown   bool
	subs    map[int]func(Caption)
	nextSub int
	waiting bool
	advance chan struct{}
}

// NewNarration returns a narration with no caption yet.
func NewNarration() *Narration {
	return &Narration{subs: map[int]func(Caption){}, advance: make(chan struct{}, 1)}
}

// Show replaces the caption and hands it to every subscriber, in order.
func (n *Narration) Show(c Caption) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cur, n.shown = c, true
	n.notify()
}

// notify calls the subscribers with the caption (n.mu held).
func (n *Narration) notify() {
	for i := 0; i < n.nextSub; i++ {
		if f, ok := n.subs[i]; ok {
			f(n.cur)
		}
	}
}

// Current returns the caption shown last; ok is false before the first.
func (n *Narration) Current() (Caption, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cur, n.shown
}

// Subscribe calls f with every caption shown from now on, starting with
// the current one if there is one, until the returned cancel is called. f
// runs on the showing goroutine with the narration locked: it must not
// block or call back into the narration (a view posts the caption to its UI
// goroutine).
func (n *Narration) Subscribe(f func(Caption)) (cancel func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.nextSub
	n.nextSub++
	n.subs[id] = f
	if n.shown {
		f(n.cur)
	}
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.subs, id)
	}
}

// Advance is the advance key: it ends the script's current Wait and
// reports true, or reports false when the script is not waiting (a step is
// still running, or the script has stopped).
func (n *Narration) Advance() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.waiting {
		return false
	}
	n.waiting = false
	select {
	case n.advance <- struct{}{}:
	default:
	}
	return true
}

// Wait marks the current caption Waiting and blocks until Advance, until
// pause has passed (pause <= 0: no timer), or until ctx ends (its error is
// returned).
func (n *Narration) Wait(ctx context.Context, pause time.Duration) error {
	n.mu.Lock()
	select {
	case <-n.advance: // a press from an earlier wait that the timer beat
	default:
	}
	n.waiting = true
	n.cur.Waiting = true
	n.cur.AutoAt = time.Time{}
	var timer <-chan time.Time
	if pause > 0 {
		t := time.NewTimer(pause)
		defer t.Stop()
		timer = t.C
		n.cur.AutoAt = time.Now().Add(pause)
	}
	n.notify()
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.waiting = false
		n.mu.Unlock()
	}()
	select {
	case <-n.advance:
		return nil
	case <-timer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
