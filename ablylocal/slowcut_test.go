package ablylocal

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestSlowSubscriberCutIsAtomic (issue 15): once the endpoint drops a frame
// for a slow subscriber, nothing published after it reaches that
// connection: what the subscriber reads when it reads again is a gap-free
// prefix of what was published, then DISCONNECTED 80020. Resuming (the
// connection key, then ATTACH with each channel's last channelSerial, as
// the SDKs do), possibly through more 80020s while the replay overruns the
// queue again, it gets every message exactly once and in order per channel,
// and every ATTACHED that says RESUMED continues exactly where it left.
//
// Messages alternate large and small on three channels, so a frame queued
// after a dropped one would fit in the queue (the bug: the cut was
// asynchronous, and the next, smaller, message on another channel went out
// after the dropped one, moving the client past it).
func TestSlowSubscriberCutIsAtomic(t *testing.T) {
	const limit = 64 << 10
	s := startServer(t, Options{MaxQueuedBytes: limit})
	formats(t, func(t *testing.T, binary bool) {
		channels := []string{uniq(t, "cut-a"), uniq(t, "cut-b"), uniq(t, "cut-c")}
		c := dialRaw(t, s, binary, nil)
		cm := c.expect(actConnected)
		id, key := cm["connectionId"].(string), cm["connectionKey"].(string)
		sc := findConn(t, s, id)
		killed := closeReason(s, sc)
		sub := &cutSubscriber{t: t, s: s, last: map[string]int{}, serial: map[string]string{}}
		for i, ch := range channels {
			c.send(map[string]any{"action": actAttach, "channel": ch})
			sub.serial[ch] = c.expect(actAttached)["channelSerial"].(string)
			sub.last[ch] = i - len(channels) // message i, i+3, … go to channel i
		}
		// the client stops reading; publish until the endpoint cuts it, then
		// a few more that it must not get on that transport
		published := 0
		publish := func() {
			size := 3000
			if published%2 == 1 {
				size = 40
			}
			sub.publish(channels[published%len(channels)], published, size)
			published++
		}
		var reason *errorInfo
		for reason == nil {
			if published > 200000 {
				t.Fatal("the endpoint never disconnected the subscriber that stopped reading")
			}
			publish()
			select {
			case reason = <-killed:
			default:
			}
		}
		if reason.Code != 80020 {
			t.Fatalf("slow subscriber closed with %v, want 80020", reason)
		}
		for range 300 { // several times the queue limit: the replays overrun it again
			publish()
		}
		// reading again: a prefix of the publishes with no gap, then 80020
		var got []int
		for {
			m, ok := c.recv()
			if !ok {
				t.Fatal("connection ended without DISCONNECTED")
			}
			if a := num(m["action"]); a == actDisconnected {
				if errOf(m) != 80020 {
					t.Fatalf("DISCONNECTED %v, want 80020", m)
				}
				break
			} else if a == actMessage {
				got = append(got, sub.message(m))
			}
		}
		for i, n := range got {
			if n != i {
				t.Fatalf("before DISCONNECTED the subscriber read message %d after %d of %d published: a message published after a dropped one was sent (%v…)", n, i, published, got[max(0, i-3):min(len(got), i+3)])
			}
		}
		t.Logf("%d of %d messages before the cut", len(got), published)
		// resume until caught up; each 80020 on the way is resumed again.
		// Like the SDKs, the client dials its resume as soon as it reads
		// DISCONNECTED; the transport it leaves must then end with nothing
		// after the DISCONNECTED.
		resumes, prev := 0, c
		for !sub.caughtUp(published) {
			if resumes++; resumes > 100 {
				t.Fatalf("not caught up after %d resumes", resumes-1)
			}
			r := dialRaw(t, s, binary, url.Values{"resume": {key}})
			if m := r.expect(actConnected); m["connectionId"] != id || errOf(m) != 0 {
				t.Fatalf("resume %d → %v, want connection %s without error", resumes, m, id)
			}
			if m, ok := prev.recv(); ok {
				t.Fatalf("frame after DISCONNECTED 80020: %v", m)
			}
			prev = r
			for _, ch := range channels {
				r.send(map[string]any{"action": actAttach, "channel": ch, "channelSerial": sub.serial[ch]})
			}
			if !sub.read(r, published) {
				continue
			}
			// the last transport is live: a new message on each channel
			// comes once, after the replay
			for range channels {
				publish()
			}
			if !sub.read(r, published) {
				t.Fatal("disconnected while reading three live messages")
			}
			r.send(map[string]any{"action": actClose})
			readUntil(r, actClosed)
		}
		t.Logf("caught up after %d resume(s)", resumes)
	})
}

// cutSubscriber is the raw subscriber's view: the last message index and
// channelSerial per channel, checked for continuity on every frame.
type cutSubscriber struct {
	t      *testing.T
	s      *Server
	last   map[string]int    // channel → index of the last message read (negative: none yet)
	serial map[string]string // channel → channelSerial to resume from
}

// publish publishes message index n ("m<n>") with a payload of size bytes.
func (u *cutSubscriber) publish(channel string, n, size int) {
	u.t.Helper()
	m, err := u.s.prepareMessages([]inMessage{{Name: "m" + strconv.Itoa(n), Data: rawData{kind: dataString, str: strings.Repeat("x", size)}}}, "", false, "", fmt.Sprint("cut", n))
	if err != nil {
		u.t.Fatal(err)
	}
	if _, _, err := u.s.publish(channel, m, nil, ""); err != nil {
		u.t.Fatal(err)
	}
}

// message records a MESSAGE frame (one message each here) and returns its
// index; a message that does not follow the channel's last one fails.
func (u *cutSubscriber) message(m map[string]any) int {
	u.t.Helper()
	ch, _ := m["channel"].(string)
	msgs, _ := m["messages"].([]any)
	if len(msgs) != 1 {
		u.t.Fatalf("MESSAGE frame with %d messages, want 1: %v", len(msgs), m)
	}
	name, _ := msgs[0].(map[string]any)["name"].(string)
	n, err := strconv.Atoi(strings.TrimPrefix(name, "m"))
	if err != nil {
		u.t.Fatalf("unexpected message %q", name)
	}
	if want := u.next(u.last[ch]); n != want {
		u.t.Fatalf("on %s got message %d after %d, want %d (a gap or a duplicate)", ch, n, u.last[ch], want)
	}
	u.last[ch] = n
	u.serial[ch] = m["channelSerial"].(string)
	return n
}

// next is the index of the message that follows last on its channel (the
// channels take the messages in turn).
func (u *cutSubscriber) next(last int) int { return last + len(u.last) }

// caughtUp reports whether every channel has read its last message of the
// first published.
func (u *cutSubscriber) caughtUp(published int) bool {
	for _, last := range u.last {
		if u.next(last) < published {
			return false
		}
	}
	return true
}

// read reads a resumed transport: ATTACHED must be RESUMED at the serial
// sent, then the messages continue. It returns true when caught up, false
// after DISCONNECTED 80020 (the replay overran the queue).
func (u *cutSubscriber) read(r *rawClient, published int) bool {
	u.t.Helper()
	for {
		m, ok := r.recv()
		if !ok {
			u.t.Fatal("connection ended without DISCONNECTED")
		}
		switch num(m["action"]) {
		case actAttached:
			ch, _ := m["channel"].(string)
			if num(m["flags"])&flagResumed == 0 || errOf(m) != 0 {
				u.t.Fatalf("re-ATTACH of %s: %v, want RESUMED without error", ch, m)
			}
			if m["channelSerial"] != u.serial[ch] {
				u.t.Fatalf("re-ATTACHED %s at %v, want the resume point %s", ch, m["channelSerial"], u.serial[ch])
			}
		case actMessage:
			u.message(m)
			if u.caughtUp(published) {
				return true
			}
		case actDisconnected:
			if errOf(m) != 80020 {
				u.t.Fatalf("DISCONNECTED %v while catching up, want 80020", m)
			}
			return false
		case actHeartbeat:
		default:
			u.t.Fatalf("unexpected frame while catching up: %v", m)
		}
	}
}
