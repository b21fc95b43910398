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
// Recording is cheap: rows of one claim, one fence or one completion are
// recorded under one lock; a step is 16 bytes in a slice preallocated for
// the usual five (claim, extend, send, ack, completion); an entry's strings
// are the claimed row's own (no copy), and an overwritten slot reuses its
// step slice. The active map finds the slot of a row the node still holds;
// it is bounded by the ring (an overwritten slot drops its key).
type journal struct {
	size  int
	mu    sync.Mutex
	ring  []jentry
	next  int             // slot written next once the ring is full
	slot  map[int64]int32 // sequence id → its newest slot
	round int64           // claim rounds that found rows

	noteSince atomic.Int64 // unix ns of the first NOTIFY since the last claim began (0: none)
}

// jentry is one row's journey in this node.
type jentry struct {
	seq                     int64
	mutation, channel, name string
	rejected                bool
	committed, notified     int64  // unix ns; 0 = unknown
	from                    string // node whose lapsed lock the last claim replaced
	steps                   []jstep
}

// jstep is one step; arg is the claim round or the error code.
type jstep struct {
	at      int64
	arg     int32
	attempt uint16
	kind    jkind
}

func newJournal(size int) *journal {
	if size <= 0 {
		return nil
	}
	return &journal{size: size, slot: map[int64]int32{}}
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
	j.round++
	for i := range rows {
		r := &rows[i]
		if s, ok := j.slot[r.SequenceID]; ok && j.ring[s].seq == r.SequenceID {
			e := &j.ring[s] // claimed again (after a release): same journey
			e.steps = append(e.steps, jstep{at: now, arg: int32(j.round), kind: kClaim})
			if r.PreviousHolder != "" {
				e.from = r.PreviousHolder
			}
			continue
		}
		var e *jentry
		if len(j.ring) < j.size {
			j.ring = append(j.ring, jentry{steps: make([]jstep, 0, 5)})
			e = &j.ring[len(j.ring)-1]
			j.slot[r.SequenceID] = int32(len(j.ring) - 1)
		} else {
			e = &j.ring[j.next]
			if s, ok := j.slot[e.seq]; ok && int(s) == j.next {
				delete(j.slot, e.seq)
			}
			j.slot[r.SequenceID] = int32(j.next)
			j.next = (j.next + 1) % j.size
		}
		var committed, notified int64
		if r.Committed != nil {
			committed = r.Committed.UnixNano()
		}
		if note != 0 && (committed == 0 || note >= committed) {
			notified = note
		}
		*e = jentry{seq: r.SequenceID, mutation: r.MutationID, channel: r.Channel, name: r.Name, rejected: r.Rejected,
			committed: committed, notified: notified, from: r.PreviousHolder,
			steps: append(e.steps[:0], jstep{at: now, arg: int32(j.round), kind: kClaim})}
	}
}

// stepLocked appends a step to id's journey if the node still has it;
// callers hold j.mu.
func (j *journal) stepLocked(id int64, st jstep) {
	s, ok := j.slot[id]
	if !ok || j.ring[s].seq != id {
		return
	}
	j.ring[s].steps = append(j.ring[s].steps, st)
}

// step records one step of one row.
func (j *journal) step(id int64, kind jkind, attempt, code int) {
	if j == nil {
		return
	}
	st := jstep{at: time.Now().UnixNano(), arg: int32(code), attempt: uint16(min(attempt, 65535)), kind: kind}
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
		j.stepLocked(id, jstep{at: now, kind: k})
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
		j.stepLocked(id, jstep{at: now, kind: kind})
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
	kept := map[int64]bool{}
	for _, t := range tombs {
		kept[t] = true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		k := kDeleted
		switch {
		case retain:
			k = kRetained
		case kept[id]:
			k = kTombstone
		}
		s, ok := j.slot[id]
		if !ok || j.ring[s].seq != id {
			continue
		}
		e := &j.ring[s]
		e.steps = append(e.steps, jstep{at: now, kind: k})
		if k != kTombstone { // a tombstone's later deletion is recorded too (tombstonesGone)
			delete(j.slot, id) // the row left this node: only lookups by scan from now on
		}
		if observe != nil {
			observe(e.stages())
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
			j.stepLocked(id, jstep{at: now, kind: kDeleted})
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

// stages measures the entry's stage durations.
func (e *jentry) stages() ([5]time.Duration, [5]bool) {
	return connector.MeasureStages(e.committed, e.notified, len(e.steps), func(i int) (connector.StepKind, int64) {
		return kindNames[e.steps[i].kind], e.steps[i].at
	})
}

// journey converts an entry for the wire.
func (e *jentry) journey(node string) connector.RowJourney {
	j := connector.RowJourney{Node: node, SequenceID: e.seq, MutationID: e.mutation, Channel: e.channel, Name: e.name,
		Rejected: e.rejected, Committed: unixTime(e.committed), Notified: unixTime(e.notified), TookOverFrom: e.from,
		Steps: make([]connector.JourneyStep, len(e.steps))}
	for i, s := range e.steps {
		st := connector.JourneyStep{Kind: kindNames[s.kind], Time: time.Unix(0, s.at).UTC(), Attempt: int(s.attempt)}
		switch s.kind {
		case kClaim:
			st.Round = int64(s.arg)
		default:
			st.Code = int(s.arg)
		}
		j.Steps[i] = st
	}
	return j
}

// find returns the journeys matching q, oldest first, and the journal's
// fill and oldest claim.
func (j *journal) find(node string, q connector.JourneyQuery) connector.JournalReply {
	r := connector.JournalReply{Node: node, Journeys: []connector.RowJourney{}}
	if j == nil {
		return r
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	r.Size, r.Rows = j.size, len(j.ring)
	if len(j.ring) > 0 {
		oldest := j.next % len(j.ring)
		if len(j.ring[oldest].steps) > 0 {
			r.Oldest = unixTime(j.ring[oldest].steps[0].at)
		}
	}
	for k := 0; k < len(j.ring); k++ {
		e := &j.ring[(j.next+k)%len(j.ring)]
		if q.Matches(e.seq, e.mutation) {
			r.Journeys = append(r.Journeys, e.journey(node))
		}
	}
	return r
}

// recentStages summarises the stages of the last n completed rows.
func (j *journal) recentStages(n int) []connector.StageLatency {
	out := make([]connector.StageLatency, len(connector.Stages))
	var samples [5][]float64
	if j != nil {
		j.mu.Lock()
		for k := 0; k < len(j.ring) && k < n; k++ {
			e := &j.ring[((j.next-1-k)%len(j.ring)+len(j.ring))%len(j.ring)]
			d, ok := e.stages()
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
