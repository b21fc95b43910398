package faultsuite

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/internal/stack"
)

// The slow-consumer scenario: the suite's livesync.yaml sets
// ably.local.maxQueuedBytes to stallQueueBytes, the writer pads its rows to
// stallPad bytes, and one extra ably-go subscriber, connected through a
// stallProxy, stops reading for stallFor: the endpoint's queue for it
// passes the limit and it is disconnected with 80020. When it reads again
// the SDK gets what the kernel buffered, then the DISCONNECTED, and
// reconnects resuming its connection (each resume's replay can overrun the
// limit again: more 80020s follow until it has caught up). Because 80020
// says "reconnect and catch up from history", the app then reads each
// channel's history up to its attach point (HistoryUntilAttach) and merges
// by id; the report says how many rows only history had, i.e. what the
// SDK's resume alone lost.
const (
	stallQueueBytes = 256 << 10
	stallPad        = 16 << 10
	stallFor        = 5 * time.Second
)

// stalledSub is the subscriber that stops reading.
type stalledSub struct {
	rt    *ably.Realtime
	proxy *stallProxy

	mu          sync.Mutex
	live        map[string][]arrival
	codes       []int // reasons of DISCONNECTED/SUSPENDED/FAILED, in order
	state       ably.ConnectionState
	downAt      time.Time // the last DISCONNECTED/SUSPENDED/FAILED
	attached    map[string]int
	attachedAt  map[string]time.Time
	resumed     map[string]bool // the last ATTACHED's resumed flag
	lostCont    int             // reattaches that said continuity was lost (resumed=false)
	lostCodes   []int           // their reasons' codes
	fromHistory map[string][]int64
	historyAt   time.Time // when the history fill returned
	changed     chan struct{}
}

// arrival is one delivery and when it reached the handler.
type arrival struct {
	id int64
	at time.Time
}

// subscribeStalled connects and attaches the channels; it reads normally
// until stall.
func (e *env) subscribeStalled(channels []string) *stalledSub {
	e.t.Helper()
	a := e.state.Ably
	proxy := startStallProxy(e.t, hostPort(a.Host, a.Port))
	rt, err := ably.NewRealtime(append(stack.ClientOptions(a, a.Key), ably.WithPort(proxy.port()), ably.WithAutoConnect(false), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		e.t.Fatal(err)
	}
	s := &stalledSub{rt: rt, proxy: proxy, live: map[string][]arrival{}, attached: map[string]int{}, attachedAt: map[string]time.Time{},
		resumed: map[string]bool{}, fromHistory: map[string][]int64{}, changed: make(chan struct{}, 1)}
	e.t.Cleanup(rt.Close)
	rt.Connection.OnAll(func(c ably.ConnectionStateChange) {
		s.mu.Lock()
		s.state = c.Current
		switch c.Current {
		case ably.ConnectionStateDisconnected, ably.ConnectionStateSuspended, ably.ConnectionStateFailed:
			s.downAt = time.Now()
			code := 0
			if c.Reason != nil {
				code = int(c.Reason.Code)
			}
			s.codes = append(s.codes, code)
		}
		s.mu.Unlock()
		s.poke()
	})
	rt.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(ctx, rt); err != nil {
		e.t.Fatal(err)
	}
	for _, ch := range channels {
		ch := ch
		c := rt.Channels.Get(ch)
		c.OnAll(func(sc ably.ChannelStateChange) {
			if sc.Current == ably.ChannelStateAttached {
				s.mu.Lock()
				s.attached[ch]++
				s.attachedAt[ch] = time.Now()
				s.resumed[ch] = sc.Resumed
				if s.attached[ch] > 1 && !sc.Resumed {
					s.lostCont++
					code := 0
					if sc.Reason != nil {
						code = int(sc.Reason.Code)
					}
					s.lostCodes = append(s.lostCodes, code)
				}
				s.mu.Unlock()
				s.poke()
			}
		})
		if _, err := c.SubscribeAll(ctx, func(m *ably.Message) {
			id, _ := strconv.ParseInt(m.ID, 10, 64)
			s.mu.Lock()
			s.live[ch] = append(s.live[ch], arrival{id: id, at: time.Now()})
			s.mu.Unlock()
		}); err != nil {
			e.t.Fatal(err)
		}
	}
	return s
}

func (s *stalledSub) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// await waits until cond (called under the lock) holds.
func (s *stalledSub) await(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("stalled subscriber: %s not seen within %s (connection reasons %v, attaches %v)", what, within, s.codes, s.attached)
		}
	}
}

// recoverAfterStall lets the handler return and follows the subscriber
// back: 80020, reconnected, every channel reattached, and channels
// reattached without continuity filled from history. It returns when it
// has caught up.
func (s *stalledSub) recoverAfterStall(t *testing.T, channels []string, committed map[string]int64) {
	s.proxy.release()
	s.await(t, 15*time.Second, "DISCONNECTED 80020", func() bool { return len(s.codes) > 0 })
	// settled: connected, every channel attached since the last disconnect
	// and holding, live, the last row committed before the release
	s.await(t, 15*time.Second, "CONNECTED again, every channel reattached and live at the head", func() bool {
		if s.state != ably.ConnectionStateConnected {
			return false
		}
		for _, ch := range channels {
			if !s.attachedAt[ch].After(s.downAt) {
				return false
			}
			live := s.live[ch]
			if len(live) == 0 || live[len(live)-1].id < committed[ch] {
				return false
			}
		}
		return true
	})
	// 80020 says "reconnect and catch up from history": the app fetches
	// each channel's history up to its attach point, whatever the SDK's
	// resumed flag says
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, ch := range channels {
		// untilAttach needs the channel ATTACHED at the call: a further
		// reconnect after the settled state above puts it back to ATTACHING
		// for a moment (seen on a loaded CI host), so wait for the attach as
		// an app would (at once when it is attached).
		if err := s.rt.Channels.Get(ch).Attach(ctx); err != nil {
			t.Fatalf("attach %s before history: %v", ch, err)
		}
		req, err := s.rt.Channels.Get(ch).HistoryUntilAttach(ably.HistoryWithLimit(1000))
		if err != nil {
			t.Fatalf("history until attach on %s: %v", ch, err)
		}
		pages, err := req.Pages(ctx)
		if err != nil {
			t.Fatalf("history until attach on %s: %v", ch, err)
		}
		var ids []int64
		for pages.Next(ctx) {
			for _, m := range pages.Items() {
				id, _ := strconv.ParseInt(m.ID, 10, 64)
				ids = append(ids, id)
			}
		}
		if err := pages.Err(); err != nil {
			t.Fatalf("history until attach on %s: %v", ch, err)
		}
		s.mu.Lock()
		s.fromHistory[ch] = ids
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.historyAt = time.Now()
	s.mu.Unlock()
}

// stallReport is what the stalled subscriber saw.
type stallReport struct {
	expected, liveBefore, liveAfter, history, missing, dupLive, reorderedLive int
	resumed                                                                   int // channels reattached with continuity
	caughtUp                                                                  time.Duration
}

// report compares the stalled subscriber's views with the committed ids
// from its first delivery on each channel: live before the release, live
// after it, and history filled in; missing is what none of them holds.
// caughtUp is from the release until, on every channel, it held every row
// committed before the release.
func (s *stalledSub) report(ids map[string][]int64, released time.Time, committedAt map[string]int64) stallReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r stallReport
	for ch, want := range ids {
		live := s.live[ch]
		if len(live) == 0 {
			r.missing += len(want)
			continue
		}
		if s.resumed[ch] {
			r.resumed++
		}
		first := live[0].id
		seen, inLive := map[int64]bool{}, map[int64]bool{}
		var prev int64
		var done time.Time
		for _, a := range live {
			if a.at.Before(released) {
				r.liveBefore++
			} else {
				r.liveAfter++
			}
			if inLive[a.id] {
				r.dupLive++
			}
			if a.id < prev {
				r.reorderedLive++
			}
			inLive[a.id], seen[a.id], prev = true, true, a.id
		}
		// caught up: holding, live after the release, the last row
		// committed before it, and any row only history had
		target, filled := committedAt[ch], false
		for _, id := range s.fromHistory[ch] {
			if !seen[id] && id >= first {
				r.history++
				filled = true
			}
			seen[id] = true
		}
		for _, a := range live {
			if a.id >= target && !a.at.Before(released) {
				done = a.at
				break
			}
		}
		if filled && s.historyAt.After(done) {
			done = s.historyAt
		}
		for _, id := range want {
			if id < first {
				continue
			}
			r.expected++
			if !seen[id] {
				r.missing++
			}
		}
		if done.IsZero() {
			done = time.Now()
		}
		if d := done.Sub(released); d > r.caughtUp {
			r.caughtUp = d
		}
	}
	return r
}

// lastIDs is the highest id the writer has committed per channel.
func (w *writer) lastIDs() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int64{}
	for ch, ids := range w.ids {
		if len(ids) > 0 {
			out[ch] = ids[len(ids)-1]
		}
	}
	return out
}

// liveExact checks that a subscriber that was never disturbed received
// every row in commit order on every channel (from its first delivery),
// exactly once; it returns the number of faults.
func liveExact(ids map[string][]int64, s *subscriber) (bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch, want := range ids {
		got := s.live[ch]
		if len(got) == 0 {
			return bad + len(want)
		}
		i := sort.Search(len(want), func(i int) bool { return want[i] >= got[0].id })
		want = want[i:]
		if len(got) != len(want) {
			bad++
			continue
		}
		for k := range got {
			if got[k].id != want[k] {
				bad++
				break
			}
		}
	}
	return bad
}
