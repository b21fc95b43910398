package connector

import "testing"

// TestBusFansOutAndCountsDrops: every subscriber gets events while it has
// room; a full subscriber misses events (counted) without blocking Emit.
func TestBusFansOutAndCountsDrops(t *testing.T) {
	var b Bus
	fast, unsubFast := b.Subscribe(10)
	slow, unsubSlow := b.Subscribe(1)
	for i := 0; i < 5; i++ {
		b.Emit(Event{Kind: EventPublished, SequenceID: int64(i + 1)})
	}
	if len(fast) != 5 || len(slow) != 1 {
		t.Fatalf("buffered %d and %d events, want 5 and 1", len(fast), len(slow))
	}
	if b.Dropped() != 4 {
		t.Fatalf("dropped %d, want 4", b.Dropped())
	}
	if e := <-slow; e.SequenceID != 1 || e.Time.IsZero() {
		t.Errorf("slow subscriber got %+v", e)
	}
	unsubSlow()
	unsubSlow() // harmless twice
	if _, ok := <-slow; ok {
		t.Error("channel not closed on unsubscribe")
	}
	b.Emit(Event{Kind: EventInfo})
	if len(fast) != 6 || b.Dropped() != 4 {
		t.Errorf("after unsubscribe: fast has %d, dropped %d", len(fast), b.Dropped())
	}
	unsubFast()
}
