package postgres

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// jInline is how many steps an entry holds inline: the usual journey is
// five (claim, fence, send, ACK, completion), six with an extension.
const jInline = 8

// jentry is one row's journey in this node: 136 bytes with no pointers,
// so the ring is one noscan allocation per chunk that the GC never scans
// and recording a row allocates nothing. Strings live elsewhere: the
// mutation id inline when it is a canonical UUID or up to 16 bytes, else
// in the journal's side map; channel, name and previous holder as
// indexes into the journal's intern table (0 is "").
type jentry struct {
	seq       int64
	base      int64 // unix ns of the first claim; inline step times are µs after it
	committed int64 // unix ns; 0 = unknown
	notified  int64 // unix ns; 0 = unknown
	round     int64 // claim round of the first claim; inline claim steps are relative to it
	mut       [16]byte
	channel   uint32
	name      uint32
	from      uint32 // node whose lapsed lock the last claim replaced
	nstep     uint8  // inline step words used
	flags     uint8
	mlen      uint8 // length of an inline text mutation id
	steps     [jInline]uint64
}

// Entry flags: the mutation id's form (two bits), rejected, and whether
// the journal's overflow map holds steps for the entry's slot.
const (
	fMutMask  uint8 = 3
	fMutNone  uint8 = 0 // ""
	fMutUUID  uint8 = 1 // mut is a canonical (lowercase) UUID's 16 bytes
	fMutShort uint8 = 2 // mut[:mlen] is the text
	fMutLong  uint8 = 3 // the journal's mtext map holds it
	fRejected uint8 = 4
	fOver     uint8 = 8
)

// A packed step word: kind (4 bits; jEscape: the step is the next one in
// the overflow map), attempt (7 bits), arg (17 bits: the Ably error code,
// or the claim round after the entry's first), time (36 bits: µs after
// the entry's first claim, 19 hours).
const (
	jEscape     = 15
	jAttemptMax = 1<<7 - 1
	jArgMax     = 1<<17 - 1
	jMicrosMax  = 1<<36 - 1
)

// jfull is a step that does not fit a packed word (or comes after the
// inline ones): rare, kept in the journal's overflow map.
type jfull struct {
	at      int64
	arg     int64 // claim round, or Ably error code
	attempt int32
	kind    jkind
}

// pack encodes a step relative to e, ok false when it does not fit.
func (e *jentry) pack(s jfull) (uint64, bool) {
	arg := s.arg
	if s.kind == kClaim {
		arg -= e.round
	}
	dt := s.at - e.base
	us := dt / 1000
	if dt < 0 || us > jMicrosMax || s.attempt < 0 || s.attempt > jAttemptMax || arg < 0 || arg > jArgMax {
		return 0, false
	}
	return uint64(s.kind) | uint64(s.attempt)<<4 | uint64(arg)<<11 | uint64(us)<<28, true
}

// unpack decodes a packed step word of e.
func (e *jentry) unpack(w uint64) jfull {
	s := jfull{kind: jkind(w & 15), attempt: int32(w >> 4 & jAttemptMax), arg: int64(w >> 11 & jArgMax),
		at: e.base + int64(w>>28)*1000}
	if s.kind == kClaim {
		s.arg += e.round
	}
	return s
}

// encodeMutation is a mutation id's compact form; equal ids always get
// equal forms, so lookups compare forms.
func encodeMutation(s string) (form uint8, b [16]byte, n uint8) {
	switch {
	case s == "":
		return fMutNone, b, 0
	case len(s) == 36 && parseUUID(s, &b):
		return fMutUUID, b, 0
	case len(s) <= len(b):
		copy(b[:], s)
		return fMutShort, b, uint8(len(s))
	}
	return fMutLong, b, 0
}

// hexVal maps a lowercase hex digit to its value, anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

// parseUUID decodes a canonical UUID (8-4-4-4-12 lowercase hex digits,
// the form it formats back to) of 36 bytes into b; false for anything else.
func parseUUID(s string, b *[16]byte) bool {
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	k := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, lo := hexVal[s[i]], hexVal[s[i+1]]
		if hi|lo == 0xff || hi > 15 || lo > 15 {
			return false
		}
		b[k] = hi<<4 | lo
		k++
	}
	return true
}

// decodeMutation is the text of an inline mutation id.
func (e *jentry) decodeMutation() string {
	switch e.flags & fMutMask {
	case fMutUUID:
		var buf [36]byte
		hex.Encode(buf[0:8], e.mut[0:4])
		hex.Encode(buf[9:13], e.mut[4:6])
		hex.Encode(buf[14:18], e.mut[6:8])
		hex.Encode(buf[19:23], e.mut[8:10])
		hex.Encode(buf[24:36], e.mut[10:16])
		buf[8], buf[13], buf[18], buf[23] = '-', '-', '-', '-'
		return string(buf[:])
	case fMutShort:
		return string(e.mut[:e.mlen])
	}
	return ""
}

// jstrings interns the journal's channels, names and node ids: each
// distinct string is kept once, its index stored in the entries.
type jstrings struct {
	s    []string
	idx  map[string]uint32
	last uint32 // the last id returned
}

func newJStrings() jstrings {
	return jstrings{s: []string{""}, idx: map[string]uint32{"": 0}}
}

// id interns s (copied, so the claimed row's memory is not kept).
func (t *jstrings) id(s string) uint32 {
	if s == "" {
		return 0
	}
	if s == t.s[t.last] { // rows of a claim often share a name or channel
		return t.last
	}
	if i, ok := t.idx[s]; ok {
		t.last = i
		return i
	}
	s = strings.Clone(s)
	t.s = append(t.s, s)
	i := uint32(len(t.s) - 1)
	t.idx[s] = i
	t.last = i
	return i
}

// stepsOf decodes the steps of the entry at slot into buf (reused).
func (j *journal) stepsOf(slot int, e *jentry, buf []jfull) []jfull {
	buf = buf[:0]
	var over []jfull
	if e.flags&fOver != 0 {
		over = j.over[int32(slot)]
	}
	k := 0
	for _, w := range e.steps[:e.nstep] {
		if w&15 == jEscape {
			if k < len(over) {
				buf = append(buf, over[k])
				k++
			}
			continue
		}
		buf = append(buf, e.unpack(w))
	}
	return append(buf, over[k:]...)
}

// mutation is the entry's mutation id.
func (j *journal) mutation(slot int, e *jentry) string {
	if e.flags&fMutMask == fMutLong {
		return j.mtext[int32(slot)]
	}
	return e.decodeMutation()
}

// stages measures the entry's stage durations.
func (j *journal) stages(slot int, e *jentry) ([5]time.Duration, [5]bool) {
	j.buf = j.stepsOf(slot, e, j.buf)
	steps := j.buf
	return connector.MeasureStages(e.committed, e.notified, len(steps), func(i int) (connector.StepKind, int64) {
		return kindNames[steps[i].kind], steps[i].at
	})
}

// journey converts an entry for the wire.
func (j *journal) journey(node string, slot int, e *jentry) connector.RowJourney {
	j.buf = j.stepsOf(slot, e, j.buf)
	r := connector.RowJourney{Node: node, SequenceID: e.seq, MutationID: j.mutation(slot, e),
		Channel: j.str.s[e.channel], Name: j.str.s[e.name], Rejected: e.flags&fRejected != 0,
		Committed: unixTime(e.committed), Notified: unixTime(e.notified), TookOverFrom: j.str.s[e.from],
		Steps: make([]connector.JourneyStep, len(j.buf))}
	for i, s := range j.buf {
		st := connector.JourneyStep{Kind: kindNames[s.kind], Time: time.Unix(0, s.at).UTC(), Attempt: int(s.attempt)}
		switch s.kind {
		case kClaim:
			st.Round = s.arg
		default:
			st.Code = int(s.arg)
		}
		r.Steps[i] = st
	}
	return r
}
