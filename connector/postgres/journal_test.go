package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// fetchJournal asks a node over HTTP, as the monitor does for nodes in
// other processes.
func fetchJournal(t *testing.T, n *Node, q connector.JourneyQuery) connector.JournalReply {
	t.Helper()
	resp, err := http.Get("http://" + n.HealthAddr() + connector.JournalPath + "?" + q.Values().Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", connector.JournalPath, resp.Status)
	}
	var r connector.JournalReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func kinds(j connector.RowJourney) []connector.StepKind {
	out := make([]connector.StepKind, len(j.Steps))
	for i, s := range j.Steps {
		out[i] = s.Kind
	}
	return out
}

// TestJournalRowThroughEveryStage: a row inserted is journaled by the node
// that published it through commit, claim, extension, send, ACK and
// deletion, with monotonic times, served over HTTP and looked up by its
// mutation id after the row is gone; the last row stays as the tombstone.
func TestJournalRowThroughEveryStage(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "journal")
	n := startNode(t, e.options())
	var first, last int64
	if err := e.admin.QueryRow(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data)
VALUES ('mut-1', 'journal', 'a', '1') RETURNING sequence_id`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.QueryRow(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data, rejected)
VALUES ('mut-2', 'journal', 'b', '2', true) RETURNING sequence_id`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, 2, 20*time.Second)
	waitFor(t, 20*time.Second, "the first row deleted", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE sequence_id = $1", first) == 0
	})
	waitFor(t, 20*time.Second, "the last row completed", func() bool {
		r := n.Journeys(connector.JourneyQuery{SequenceID: last})
		return len(r.Journeys) == 1 && r.Journeys[0].Steps[len(r.Journeys[0].Steps)-1].Kind == connector.StepTombstone
	})

	r := fetchJournal(t, n, connector.JourneyQuery{MutationID: "mut-1"})
	if r.Node != n.ID() || r.Size != connector.DefaultJournalSize || r.Rows != 2 || len(r.Journeys) != 1 {
		t.Fatalf("reply: node %s size %d rows %d journeys %d", r.Node, r.Size, r.Rows, len(r.Journeys))
	}
	j := r.Journeys[0]
	if j.SequenceID != first || j.Channel != "journal" || j.Name != "a" || j.Node != n.ID() || j.Rejected {
		t.Fatalf("journey: %+v", j)
	}
	want := []connector.StepKind{connector.StepClaim, connector.StepFence, connector.StepSend, connector.StepAck, connector.StepDeleted}
	if fmt.Sprint(kinds(j)) != fmt.Sprint(want) {
		t.Fatalf("steps %v, want %v", kinds(j), want)
	}
	if j.Committed == nil {
		t.Fatal("no commit time (track_commit_timestamp is on in the test cluster)")
	}
	prev := *j.Committed
	if j.Notified != nil {
		if j.Notified.Before(prev) {
			t.Errorf("notified %s before commit %s", j.Notified, prev)
		}
		prev = *j.Notified
	}
	for _, st := range j.Steps {
		if st.Time.Before(prev) {
			t.Errorf("step %s at %s before the previous stage at %s", st.Kind, st.Time.Format(time.RFC3339Nano), prev.Format(time.RFC3339Nano))
		}
		prev = st.Time
	}
	if j.Steps[0].Round < 1 || j.Steps[2].Attempt != 1 || j.Steps[3].Attempt != 1 {
		t.Errorf("claim round %d, send attempt %d, ack attempt %d", j.Steps[0].Round, j.Steps[2].Attempt, j.Steps[3].Attempt)
	}
	d, ok := j.StageDurations()
	for i := 1; i < 5; i++ {
		if !ok[i] {
			t.Errorf("stage %s not measured (%v)", connector.Stages[i], d)
		}
	}

	tomb := n.Journeys(connector.JourneyQuery{SequenceID: last, MutationID: "mut-2"}).Journeys
	if len(tomb) != 1 || !tomb[0].Rejected {
		t.Fatalf("last row's journey: %+v", tomb)
	}
	if st := n.State().Stages; len(st) != 5 || st[3].Stage != connector.StagePublishAck || st[3].Count != 2 {
		t.Errorf("state stages: %+v", st)
	}
	if none := n.Journeys(connector.JourneyQuery{MutationID: "never"}); len(none.Journeys) != 0 {
		t.Errorf("unknown mutation found: %+v", none.Journeys)
	}
}

// TestJournalPoisonAttempts: a 70 KiB row refused with 40009 (made
// retryable here) shows each failed attempt with its code.
func TestJournalPoisonAttempts(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.PermanentCodes = []int{40010}
	n := startNode(t, opts)
	var big int64
	if err := e.admin.QueryRow(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data)
VALUES ('huge', 'poison', 'n', to_jsonb(repeat('x', 70*1024))) RETURNING sequence_id`).Scan(&big); err != nil {
		t.Fatal(err)
	}
	var j connector.RowJourney
	waitFor(t, 20*time.Second, "three refused attempts", func() bool {
		r := n.Journeys(connector.JourneyQuery{SequenceID: big})
		if len(r.Journeys) != 1 {
			return false
		}
		j = r.Journeys[0]
		nacks := 0
		for _, s := range j.Steps {
			if s.Kind == connector.StepNack {
				nacks++
			}
		}
		return nacks >= 3
	})
	attempt := 0
	for _, s := range j.Steps {
		switch s.Kind {
		case connector.StepSend:
			attempt++
			if s.Attempt != attempt {
				t.Errorf("send attempt %d, want %d", s.Attempt, attempt)
			}
		case connector.StepNack:
			if s.Code != 40009 || s.Attempt != attempt {
				t.Errorf("nack %+v, want code 40009 attempt %d", s, attempt)
			}
		case connector.StepAck:
			t.Errorf("a 70 KiB row was acknowledged")
		}
	}
}

// TestJournalBlockedRow: with 40009 permanent the journey ends with the
// refusal, the block and the release.
func TestJournalBlockedRow(t *testing.T) {
	e := newEnv(t)
	n := startNode(t, e.options())
	var big int64
	if err := e.admin.QueryRow(context.Background(), `INSERT INTO outbox (mutation_id, channel, name, data)
VALUES ('huge', 'poison', 'n', to_jsonb(repeat('x', 70*1024))) RETURNING sequence_id`).Scan(&big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the row blocked and released", func() bool {
		r := n.Journeys(connector.JourneyQuery{SequenceID: big})
		return len(r.Journeys) == 1 && r.Journeys[0].Steps[len(r.Journeys[0].Steps)-1].Kind == connector.StepReleased
	})
	j := n.Journeys(connector.JourneyQuery{SequenceID: big}).Journeys[0]
	k := kinds(j)
	if fmt.Sprint(k[len(k)-3:]) != fmt.Sprint([]connector.StepKind{connector.StepNack, connector.StepBlocked, connector.StepReleased}) {
		t.Fatalf("steps %v", k)
	}
	if j.Steps[len(k)-2].Code != 40009 {
		t.Errorf("blocked code %d", j.Steps[len(k)-2].Code)
	}
}

// TestJournalRingBounded: the ring keeps the newest size rows.
func TestJournalRingBounded(t *testing.T) {
	j := newJournal(3)
	for i := int64(1); i <= 5; i++ {
		j.claimed([]ClaimedRow{{Row: connector.Row{SequenceID: i, MutationID: fmt.Sprint("m", i), Channel: "c"}}}, 0, time.Now())
		j.step(i, kSend, 1, 0)
	}
	r := j.find("n", connector.JourneyQuery{MutationID: "m1"})
	if len(r.Journeys) != 0 || r.Rows != 3 {
		t.Fatalf("evicted row found: %+v", r)
	}
	var got []int64
	for i := int64(1); i <= 5; i++ {
		for _, jj := range j.find("n", connector.JourneyQuery{SequenceID: i}).Journeys {
			got = append(got, jj.SequenceID)
			if len(jj.Steps) != 2 {
				t.Errorf("row %d steps %v", i, kinds(jj))
			}
		}
	}
	if fmt.Sprint(got) != "[3 4 5]" || len(j.slot) != 3 {
		t.Fatalf("kept %v, index %d", got, len(j.slot))
	}
}

// BenchmarkJournalRow records one row's usual journey (claim in a batch of
// 100, extension, send, ACK, completion) per op, and reports the memory a
// full ring of 100,000 rows holds per entry: B/entry in all, heapB/entry
// of it on the Go heap (the ring's chunks are mapped outside it on unix),
// strings included (each row's mutation id and channel are its own, as
// pgx scans them).
func BenchmarkJournalRow(b *testing.B) {
	const size = 100000
	rows := make([]ClaimedRow, 100)
	now := time.Now()
	ids := make([]int64, len(rows))
	got := map[int64]bool{}
	record := func(j *journal, base int64, fresh bool) {
		clear(got)
		for i := range rows {
			id := base + int64(i)
			rows[i] = ClaimedRow{Row: connector.Row{SequenceID: id, MutationID: rows[i].MutationID, Channel: rows[i].Channel, Name: "t"}, Committed: &now}
			if fresh {
				rows[i].MutationID = fmt.Sprintf("0b5a8e4e-2f4c-4c1e-9d7e-%012d", id)
				rows[i].Channel = fmt.Sprintf("trace:%d", id%1000)
			}
			ids[i] = id
			got[id] = true
		}
		j.claimed(rows, now.UnixNano(), now)
		j.fenced(ids, func(id int64) bool { return got[id] }, kFence, now)
		for _, id := range ids {
			j.step(id, kSend, 1, 0)
			j.published(id, 1, nil)
		}
		j.completed(ids, nil, false, nil)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	j := newJournal(size)
	for base := int64(1); base <= size; base += 100 {
		record(j, base, true)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / size
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		record(j, int64(size+i+1), false)
	}
	b.ReportMetric(perEntry, "heapB/entry")
	b.ReportMetric(perEntry+float64(j.mem.offHeap())/size, "B/entry")
	runtime.KeepAlive(j)
}
