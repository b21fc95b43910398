package model

// Ring is a bounded buffer addressed by absolute sequence numbers: entry n
// stays at n while older entries are evicted, so a paused view keeps
// pointing at the same entry. It is not safe for concurrent use.
type Ring[T any] struct {
	buf  []T
	cap  int
	base uint64 // absolute number of buf[0]
}

// NewRing returns a ring keeping at most capacity entries (minimum 1).
func NewRing[T any](capacity int) *Ring[T] {
	return &Ring[T]{cap: max(capacity, 1)}
}

// Push appends v, evicting the oldest entry when full.
func (r *Ring[T]) Push(v T) {
	if len(r.buf) >= r.cap {
		n := len(r.buf) - r.cap + 1
		var zero T
		for i := range n {
			r.buf[i] = zero
		}
		r.buf = append(r.buf[:0], r.buf[n:]...)
		r.base += uint64(n)
	}
	r.buf = append(r.buf, v)
}

// Resize changes the capacity, evicting the oldest entries if needed.
func (r *Ring[T]) Resize(capacity int) {
	r.cap = max(capacity, 1)
	if len(r.buf) > r.cap {
		n := len(r.buf) - r.cap
		r.buf = append([]T(nil), r.buf[n:]...)
		r.base += uint64(n)
	}
}

// Len returns how many entries are kept.
func (r *Ring[T]) Len() int { return len(r.buf) }

// Base returns the absolute number of the oldest kept entry.
func (r *Ring[T]) Base() uint64 { return r.base }

// Next returns the absolute number the next Push gets.
func (r *Ring[T]) Next() uint64 { return r.base + uint64(len(r.buf)) }

// At returns the entry at absolute number n; ok is false once evicted.
func (r *Ring[T]) At(n uint64) (T, bool) {
	var zero T
	if n < r.base || n >= r.Next() {
		return zero, false
	}
	return r.buf[n-r.base], true
}

// Filtered is a view of a Ring keeping the absolute numbers of the entries
// a predicate accepts, updated incrementally as entries arrive.
type Filtered[T any] struct {
	ring  *Ring[T]
	match func(T) bool
	ids   []uint64
	seen  uint64 // next absolute number to examine
}

// NewFiltered returns a view of ring; a nil match accepts everything.
func NewFiltered[T any](ring *Ring[T], match func(T) bool) *Filtered[T] {
	f := &Filtered[T]{ring: ring, match: match, seen: ring.Base()}
	f.Sync()
	return f
}

// Sync examines entries pushed since the last call and forgets evicted ones.
func (f *Filtered[T]) Sync() {
	base := f.ring.Base()
	drop := 0
	for drop < len(f.ids) && f.ids[drop] < base {
		drop++
	}
	if drop > 0 {
		f.ids = append(f.ids[:0], f.ids[drop:]...)
	}
	f.seen = max(f.seen, base)
	for ; f.seen < f.ring.Next(); f.seen++ {
		v, _ := f.ring.At(f.seen)
		if f.match == nil || f.match(v) {
			f.ids = append(f.ids, f.seen)
		}
	}
}

// Len returns how many kept entries match.
func (f *Filtered[T]) Len() int { return len(f.ids) }

// At returns the i-th matching entry and its absolute number.
func (f *Filtered[T]) At(i int) (T, uint64, bool) {
	var zero T
	if i < 0 || i >= len(f.ids) {
		return zero, 0, false
	}
	v, ok := f.ring.At(f.ids[i])
	return v, f.ids[i], ok
}

// Index returns the position of absolute number n among the matches, or -1.
func (f *Filtered[T]) Index(n uint64) int {
	lo, hi := 0, len(f.ids)
	for lo < hi {
		m := (lo + hi) / 2
		if f.ids[m] < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(f.ids) && f.ids[lo] == n {
		return lo
	}
	return -1
}
