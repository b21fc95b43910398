package connector

import "sync"

// handoff runs calls that may block forever on goroutines of their own,
// as Publisher.Publish needs for ably-go's send (see sendTimeout), but keeps
// the goroutines whose call returned for the next call instead of starting
// one per message: a fresh goroutine had to grow its stack through ably-go's
// msgpack encoder on every publish (runtime.newstack under it, 2.5% of the
// connector's CPU profile of a drain). A goroutine whose call never returns is
// simply never reused.
type handoff struct {
	mu     sync.Mutex
	idle   []*handoffWorker
	keep   int // idle goroutines kept at most
	closed bool
	parked func() // tests: called after a goroutine became idle
}

type handoffWorker struct{ calls chan func() }

func newHandoff(keep int) *handoff { return &handoff{keep: keep} }

// run calls f on an idle goroutine, or on a new one.
func (h *handoff) run(f func()) {
	h.mu.Lock()
	var w *handoffWorker
	if n := len(h.idle); n > 0 && !h.closed {
		w, h.idle = h.idle[n-1], h.idle[:n-1]
	}
	h.mu.Unlock()
	if w == nil {
		w = &handoffWorker{calls: make(chan func(), 1)}
		go h.serve(w)
	}
	w.calls <- f
}

func (h *handoff) serve(w *handoffWorker) {
	for f := range w.calls {
		f()
		h.mu.Lock()
		if h.closed || len(h.idle) >= h.keep {
			h.mu.Unlock()
			return
		}
		h.idle = append(h.idle, w)
		parked := h.parked
		h.mu.Unlock()
		if parked != nil {
			parked()
		}
	}
}

// close ends the idle goroutines; busy ones end when their call returns.
func (h *handoff) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, w := range h.idle {
		close(w.calls)
	}
	h.idle = nil
}
