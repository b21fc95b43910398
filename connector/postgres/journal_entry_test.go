package postgres

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestJournalCompactRoundTrip: what the compact entry cannot hold inline
// (mutation ids that are not canonical UUIDs, a ninth step, a step days
// after the claim, a large code or attempt, a clock that went back) comes
// back exactly, and the side maps are dropped with the slot.
func TestJournalCompactRoundTrip(t *testing.T) {
	j := newJournal(2)
	long := "a-mutation-id-longer-than-sixteen-bytes"
	muts := []string{"0b5a8e4e-2f4c-4c1e-9d7e-000000000001", "0B5A8E4E-2F4C-4C1E-9D7E-000000000001", long, "short"}
	base := time.Unix(1700000000, 123456789)
	for i, m := range muts[:2] {
		j.claimed([]ClaimedRow{{Row: connector.Row{SequenceID: int64(i + 1), MutationID: m, Channel: "c", Name: "n"}, PreviousHolder: "old"}}, 0, base)
	}
	j.mu.Lock()
	j.addStep(0, j.at(0), jfull{at: base.Add(-time.Millisecond).UnixNano(), kind: kFence})                 // clock back
	j.addStep(0, j.at(0), jfull{at: base.Add(3 * 24 * time.Hour).UnixNano(), kind: kExtend})               // days later
	j.addStep(0, j.at(0), jfull{at: base.Add(time.Second).UnixNano(), attempt: 300, kind: kSend})          // big attempt
	j.addStep(0, j.at(0), jfull{at: base.Add(2 * time.Second).UnixNano(), arg: 4000000, kind: kNack})      // big code
	j.addStep(0, j.at(0), jfull{at: base.Add(3 * time.Second).UnixNano(), arg: j.round + 5, kind: kClaim}) // a later round
	for k := 0; k < 5; k++ {                                                                               // past the inline steps
		j.addStep(0, j.at(0), jfull{at: base.Add(time.Duration(4+k) * time.Second).UnixNano(), attempt: int32(k), kind: kAck})
	}
	j.mu.Unlock()
	r := j.find("n", connector.JourneyQuery{SequenceID: 1})
	if len(r.Journeys) != 1 {
		t.Fatalf("journeys %+v", r.Journeys)
	}
	got := r.Journeys[0]
	if got.MutationID != muts[0] || got.TookOverFrom != "old" || got.Channel != "c" || got.Name != "n" || len(got.Steps) != 11 {
		t.Fatalf("journey %+v", got)
	}
	want := []string{"claim@0s a0 r1 c0", "fence@-1ms a0 r0 c0", "extend@72h0m0s a0 r0 c0", "send@1s a300 r0 c0", "nack@2s a0 r0 c4000000",
		"claim@3s a0 r7 c0", "ack@4s a0 r0 c0", "ack@5s a1 r0 c0", "ack@6s a2 r0 c0", "ack@7s a3 r0 c0", "ack@8s a4 r0 c0"}
	for i, s := range got.Steps {
		if g := fmt.Sprintf("%s@%s a%d r%d c%d", s.Kind, s.Time.Sub(base), s.Attempt, s.Round, s.Code); g != want[i] {
			t.Errorf("step %d: %s, want %s", i, g, want[i])
		}
	}
	for _, m := range muts[1:2] {
		if r := j.find("n", connector.JourneyQuery{MutationID: m}); len(r.Journeys) != 1 || r.Journeys[0].MutationID != m {
			t.Errorf("mutation %q: %+v", m, r.Journeys)
		}
	}
	for _, m := range []string{"0b5a8e4e-2f4c-4c1e-9d7e-000000000002", "0b5a8e4e-2f4c-4c1e-9d7e-00000000000"} {
		if r := j.find("n", connector.JourneyQuery{MutationID: m}); len(r.Journeys) != 0 {
			t.Errorf("mutation %q found %+v", m, r.Journeys)
		}
	}
	for i, m := range muts[2:] { // overwrite both slots
		j.claimed([]ClaimedRow{{Row: connector.Row{SequenceID: int64(i + 3), MutationID: m, Channel: "c"}}}, 0, base)
	}
	if len(j.over) != 0 || len(j.mtext) != 1 {
		t.Errorf("side maps after overwrite: %d overflow, %d mutation texts", len(j.over), len(j.mtext))
	}
	for _, m := range muts[2:] {
		if r := j.find("n", connector.JourneyQuery{MutationID: m}); len(r.Journeys) != 1 || r.Journeys[0].MutationID != m || r.Journeys[0].TookOverFrom != "" {
			t.Errorf("mutation %q: %+v", m, r.Journeys)
		}
	}
}

// TestJournalStringsRebuilt: the intern table stays bounded by what the
// ring references while every row has a new channel.
func TestJournalStringsRebuilt(t *testing.T) {
	j := newJournal(100)
	for i := int64(1); i <= 50000; i++ {
		j.claimed([]ClaimedRow{{Row: connector.Row{SequenceID: i, MutationID: "m", Channel: fmt.Sprint("ch", i), Name: "n"}}}, 0, time.Now())
	}
	if len(j.str.s) > 2*minStrLimit+1 {
		t.Fatalf("intern table holds %d strings for a ring of 100", len(j.str.s))
	}
	for i := int64(49901); i <= 50000; i++ {
		r := j.find("n", connector.JourneyQuery{SequenceID: i})
		if len(r.Journeys) != 1 || r.Journeys[0].Channel != fmt.Sprint("ch", i) || r.Journeys[0].Name != "n" {
			t.Fatalf("row %d: %+v", i, r.Journeys)
		}
	}
}

// TestJournalEntryHasNoPointers: the ring may live outside the Go heap
// (journal_mem_unix.go), where the GC cannot see pointers; a field that
// holds one (string, slice, map, pointer, interface) would be corrupted.
func TestJournalEntryHasNoPointers(t *testing.T) {
	var check func(path string, typ reflect.Type)
	check = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := 0; i < typ.NumField(); i++ {
				f := typ.Field(i)
				check(path+"."+f.Name, f.Type)
			}
		case reflect.Array:
			check(path+"[]", typ.Elem())
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		default:
			t.Errorf("%s is a %s: jentry must hold no pointers", path, typ.Kind())
		}
	}
	check("jentry", reflect.TypeOf(jentry{}))
}
