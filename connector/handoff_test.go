package connector

import "testing"

// TestHandoffReusesGoroutines: calls run on goroutines of their own, a
// returned goroutine serves the next call, a call still blocked does not
// hold up the next one, and close ends the idle goroutines.
func TestHandoffReusesGoroutines(t *testing.T) {
	h := newHandoff(4)
	parked := make(chan struct{}, 4)
	h.parked = func() { parked <- struct{}{} }
	idle := func() []*handoffWorker {
		h.mu.Lock()
		defer h.mu.Unlock()
		return append([]*handoffWorker(nil), h.idle...)
	}

	h.run(func() {})
	<-parked
	first := idle()
	if len(first) != 1 {
		t.Fatalf("%d idle goroutines after one call, want 1", len(first))
	}

	block := make(chan struct{})
	h.run(func() { <-block }) // takes the idle goroutine and stays busy
	if n := len(idle()); n != 0 {
		t.Fatalf("%d idle goroutines while the only one is busy, want 0", n)
	}
	ran := make(chan struct{})
	h.run(func() { close(ran) }) // a new goroutine: must not wait for the blocked call
	<-ran
	<-parked
	close(block)
	<-parked
	kept := idle()
	if len(kept) != 2 || (kept[0] != first[0] && kept[1] != first[0]) {
		t.Fatalf("idle goroutines %v, want 2 including the first %v", kept, first[0])
	}

	h.close()
	if n := len(idle()); n != 0 {
		t.Fatalf("%d idle goroutines after close, want 0", n)
	}
}
