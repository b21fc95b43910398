//go:build !unix

package postgres

// jmem allocates a journal's ring chunks on the heap (off-heap mapping
// is for unix systems).
type jmem struct{}

func newJMem(*journal) *jmem { return &jmem{} }

// chunk returns n zeroed entries.
func (m *jmem) chunk(n int) []jentry { return make([]jentry, n) }

// offHeap is how many bytes the chunks map outside the heap: none.
func (m *jmem) offHeap() int { return 0 }
