//go:build unix

package postgres

import (
	"runtime"
	"syscall"
	"unsafe"
)

// jmem holds a journal's ring chunks outside the Go heap: the entries
// have no pointers, so the GC never needs to see them, and keeping them
// off the heap keeps them out of the GC's heap goal too (on the heap, a
// full ring lets as much garbage again pile up between collections,
// roughly doubling its cost in RSS). Pages are mapped as the ring fills
// and unmapped when the journal is unreachable.
type jmem struct {
	maps [][]byte
}

// newJMem makes j's chunk allocator, released with j.
func newJMem(j *journal) *jmem {
	m := &jmem{}
	runtime.AddCleanup(j, func(m *jmem) {
		for _, b := range m.maps {
			_ = syscall.Munmap(b)
		}
	}, m)
	return m
}

// chunk returns n zeroed entries.
func (m *jmem) chunk(n int) []jentry {
	b, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(jentry{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil { // out of address space: the heap will do
		return make([]jentry, n)
	}
	m.maps = append(m.maps, b)
	return unsafe.Slice((*jentry)(unsafe.Pointer(&b[0])), n)
}

// offHeap is how many bytes the chunks map.
func (m *jmem) offHeap() (n int) {
	for _, b := range m.maps {
		n += len(b)
	}
	return n
}
