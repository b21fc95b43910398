package postgres

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// journal is a node's bounded ring of row journeys (connector.journalSize
// rows): what the node did with each row it claimed, kept after the row is
// deleted so `outbox trace` can answer for rows that left the table.
//
// The ring is compact and pointer-free (jentry, 136 bytes a row): the GC
// neither allocates per entry nor scans the ring, which is allocated in
// chunks as it fills, outside the Go heap on unix (jmem) so that it does
// not raise the GC's heap goal either. An entry's steps are packed words inline; the rare
// step that does not fit (a ninth step, a step more than 19 hours after
// the claim) and mutation ids that are neither canonical UUIDs nor up to
// 16 bytes go to side maps keyed by slot, dropped when the slot is
// overwritten. Channels, names and node ids are interned; the table is
// rebuilt from the live entries when it grows past twice what the ring
// referenced at the last rebuild. Recording is cheap: rows of one claim,
// one fence or one completion are recorded under one lock, with no
// allocation once the ring is full. The slot map finds the slot of a row
// the node still holds; it is bounded by the ring (an overwritten slot
// drops its key, a completed row leaves it).
type journal struct {
	size   int
	mu     sync.Mutex
	chunks [][]jentry      // the ring, jChunk entries a chunk
	mem    *jmem           // allocates the chunks (off the Go heap on unix)
	rows   int             // entries written (≤ size)
	next   int             // slot written next once the ring is full
	slot   map[int64]int32 // sequence id → its newest slot
	round  int64           // claim rounds that found rows

	str      jstrings          // channels, names, node ids
	strLimit int               // rebuild str past this many strings
	over     map[int32][]jfull // slot → steps that are not inline
	mtext    map[int32]string  // slot → mutation id that is not inline
	buf      []jfull           // decoding scratch

	noteSince atomic.Int64 // unix ns of the first NOTIFY since the last claim began (0: none)
}

// jChunk is how many entries one ring allocation holds (about 140 kB).
const jChunk = 1024

// minStrLimit is the intern table size below which it is never rebuilt.
const minStrLimit = 4096

func newJournal(size int) *journal {
	if size <= 0 {
		return nil
	}
	j := &journal{size: size, slot: map[int64]int32{}, str: newJStrings(), strLimit: minStrLimit,
		over: map[int32][]jfull{}, mtext: map[int32]string{}}
	j.mem = newJMem(j)
	return j
}

// at is the entry in slot i.
func (j *journal) at(i int) *jentry {
	return &j.chunks[i/jChunk][i%jChunk]
}

// notified records a NOTIFY: the first since the last claim began.
func (j *journal) notified(at int64) {
	if j == nil {
		return
	}
	j.noteSince.CompareAndSwap(0, at)
}

// claimStart takes the notification window for a claim about to run.
func (j *journal) claimStart() int64 {
	if j == nil {
		return 0
	}
	return j.noteSince.Swap(0)
}

// claimed records the rows of one claim; note is claimStart's value.
func (j *journal) claimed(rows []ClaimedRow, note int64, at time.Time) {
	if j == nil || len(rows) == 0 {
		return
	}
	now := at.UnixNano()
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.str.s) > j.strLimit {
		j.compactStrings()
	}
	j.round++
	for i := range rows {
		r := &rows[i]
		if s, ok := j.slot[r.SequenceID]; ok && j.at(int(s)).seq == r.SequenceID {
			e := j.at(int(s)) // claimed again (after a release): same journey
			j.addStep(int(s), e, jfull{at: now, arg: j.round, kind: kClaim})
			if r.PreviousHolder != "" {
				e.from = j.str.id(r.PreviousHolder)
			}
			continue
		}
		var s int
		if j.rows < j.size {
			s = j.rows
			if s%jChunk == 0 {
				j.chunks = append(j.chunks, j.mem.chunk(min(jChunk, j.size-s)))
			}
			j.rows++
		} else {
			s = j.next
			old := j.at(s)
			if o, ok := j.slot[old.seq]; ok && int(o) == s {
				delete(j.slot, old.seq)
			}
			if old.flags&fOver != 0 {
				delete(j.over, int32(s))
			}
			if old.flags&fMutMask == fMutLong {
				delete(j.mtext, int32(s))
			}
			j.next = (j.next + 1) % j.size
		}
		j.slot[r.SequenceID] = int32(s)
		var committed, notified int64
		if r.Committed != nil {
			committed = r.Committed.UnixNano()
		}
		if note != 0 && (committed == 0 || note >= committed) {
			notified = note
		}
		form, mut, mlen := encodeMutation(r.MutationID)
		flags := form
		if form == fMutLong {
			j.mtext[int32(s)] = r.MutationID
		}
		if r.Rejected {
			flags |= fRejected
		}
		e := j.at(s)
		*e = jentry{seq: r.SequenceID, base: now, committed: committed, notified: notified, round: j.round,
			mut: mut, mlen: mlen, flags: flags, channel: j.str.id(r.Channel), name: j.str.id(r.Name),
			from: j.str.id(r.PreviousHolder)}
		j.addStep(s, e, jfull{at: now, arg: j.round, kind: kClaim})
	}
}

// addStep appends a step to the entry in slot s: packed inline when it
// fits, else in the overflow map (an escape word keeps its place).
func (j *journal) addStep(s int, e *jentry, st jfull) {
	if e.nstep < jInline {
		w, ok := e.pack(st)
		if !ok {
			w = jEscape
		}
		e.steps[e.nstep] = w
		e.nstep++
		if ok {
			return
		}
	}
	e.flags |= fOver
	j.over[int32(s)] = append(j.over[int32(s)], st)
}

// compactStrings rebuilds the intern table from the strings the ring
// references, and sets the next rebuild at twice that.
func (j *journal) compactStrings() {
	t := newJStrings()
	remap := make(map[uint32]uint32, len(j.str.s)/2)
	remap[0] = 0
	id := func(old uint32) uint32 {
		n, ok := remap[old]
		if !ok {
			n = uint32(len(t.s))
			t.s = append(t.s, j.str.s[old])
			t.idx[j.str.s[old]] = n
			remap[old] = n
		}
		return n
	}
	for i := 0; i < j.rows; i++ {
		e := j.at(i)
		e.channel, e.name, e.from = id(e.channel), id(e.name), id(e.from)
	}
	j.str = t
	j.strLimit = max(2*len(t.s), minStrLimit)
}

// stepLocked appends a step to id's journey if the node still has it;
// callers hold j.mu.
func (j *journal) stepLocked(id int64, st jfull) {
	s, ok := j.slot[id]
	if !ok {
		return
	}
	if e := j.at(int(s)); e.seq == id {
		j.addStep(int(s), e, st)
	}
}

// step records one step of one row.
func (j *journal) step(id int64, kind jkind, attempt, code int) {
	if j == nil {
		return
	}
	st := jfull{at: time.Now().UnixNano(), arg: int64(int32(code)), attempt: int32(min(attempt, 65535)), kind: kind}
	j.mu.Lock()
	j.stepLocked(id, st)
	j.mu.Unlock()
}

// fenced records a fence (kind kFence) or heartbeat extension (kExtend)
// of ids: kind for those still held, lock lost for the others.
func (j *journal) fenced(ids []int64, held func(int64) bool, kind jkind, at time.Time) {
	if j == nil {
		return
	}
	now := at.UnixNano()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		k := kind
		if !held(id) {
			k = kLockLost
		}
		j.stepLocked(id, jfull{at: now, kind: k})
	}
}

// many records the same step for several rows (released).
func (j *journal) many(ids []int64, kind jkind) {
	if j == nil || len(ids) == 0 {
		return
	}
	now := time.Now().UnixNano()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		j.stepLocked(id, jfull{at: now, kind: kind})
	}
}

// completed records a completion: rows in tombs stayed as tombstones,
// the others were deleted (or all retained). It returns the completed
// journeys' stage durations for the histograms (only when observe is set).
func (j *journal) completed(ids, tombs []int64, retain bool, observe func(d [5]time.Duration, ok [5]bool)) {
	if j == nil || len(ids) == 0 {
		return
	}
	now := time.Now().UnixNano()
	var kept map[int64]bool // for many tombstones; a few are searched
	if len(tombs) > 16 {
		kept = make(map[int64]bool, len(tombs))
		for _, t := range tombs {
			kept[t] = true
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		k := kDeleted
		switch {
		case retain:
			k = kRetained
		case kept != nil && kept[id], kept == nil && slices.Contains(tombs, id):
			k = kTombstone
		}
		s, ok := j.slot[id]
		if !ok {
			continue
		}
		e := j.at(int(s))
		if e.seq != id {
			continue
		}
		j.addStep(int(s), e, jfull{at: now, kind: k})
		if k != kTombstone { // a tombstone's later deletion is recorded too (tombstonesGone)
			delete(j.slot, id) // the row left this node: only lookups by scan from now on
		}
		if observe != nil {
			observe(j.stages(int(s), e))
		}
	}
}

// tombstonesGone records the deletion of tombstones this node left.
func (j *journal) tombstonesGone(before, still []int64) {
	if j == nil || len(before) == 0 {
		return
	}
	now := time.Now().UnixNano()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range before {
		if !slices.Contains(still, id) {
			j.stepLocked(id, jfull{at: now, kind: kDeleted})
			delete(j.slot, id)
		}
	}
}

// jkind is a step kind in one byte (connector.StepKind on the wire).
type jkind uint8

const (
	kClaim jkind = iota
	kFence
	kExtend
	kLockLost
	kSend
	kAck
	kNack
	kNoAck
	kBlocked
	kReleased
	kDeleted
	kTombstone
	kRetained
)

var kindNames = [...]connector.StepKind{kClaim: connector.StepClaim, kFence: connector.StepFence, kExtend: connector.StepExtend,
	kLockLost: connector.StepLockLost, kSend: connector.StepSend, kAck: connector.StepAck, kNack: connector.StepNack,
	kNoAck: connector.StepNoAck, kBlocked: connector.StepBlocked, kReleased: connector.StepReleased,
	kDeleted: connector.StepDeleted, kTombstone: connector.StepTombstone, kRetained: connector.StepRetained}

// find returns the journeys matching q, oldest first, and the journal's
// fill and oldest claim.
func (j *journal) find(node string, q connector.JourneyQuery) connector.JournalReply {
	r := connector.JournalReply{Node: node, Journeys: []connector.RowJourney{}}
	if j == nil {
		return r
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	r.Size, r.Rows = j.size, j.rows
	if j.rows > 0 {
		r.Oldest = unixTime(j.at(j.next % j.rows).base)
	}
	form, mut, mlen := encodeMutation(q.MutationID)
	for k := 0; k < j.rows; k++ {
		s := (j.next + k) % j.rows
		e := j.at(s)
		if q.SequenceID != 0 && q.SequenceID != e.seq {
			continue
		}
		if q.MutationID != "" {
			switch {
			case e.flags&fMutMask != form:
				continue
			case form == fMutLong && j.mtext[int32(s)] != q.MutationID,
				form != fMutLong && (e.mut != mut || e.mlen != mlen):
				continue
			}
		}
		r.Journeys = append(r.Journeys, j.journey(node, s, e))
	}
	return r
}

// recentStages summarises the stages of the last n completed rows.
func (j *journal) recentStages(n int) []connector.StageLatency {
	out := make([]connector.StageLatency, len(connector.Stages))
	var samples [5][]float64
	if j != nil {
		j.mu.Lock()
		for k := 0; k < j.rows && k < n; k++ {
			s := ((j.next-1-k)%j.rows + j.rows) % j.rows
			d, ok := j.stages(s, j.at(s))
			for i := range d {
				if ok[i] {
					samples[i] = append(samples[i], float64(d[i])/1e6)
				}
			}
		}
		j.mu.Unlock()
	}
	for i, st := range connector.Stages {
		out[i] = connector.StageLatency{Stage: st, Count: len(samples[i])}
		if len(samples[i]) > 0 {
			slices.Sort(samples[i])
			s := samples[i]
			out[i].P50, out[i].P99, out[i].Max = s[len(s)/2], s[min(len(s)-1, len(s)*99/100)], s[len(s)-1]
		}
	}
	return out
}
