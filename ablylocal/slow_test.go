package ablylocal

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// closeReason replaces s's close hook with one that reports the reason c
// closes with (the hook sees every connection; only c's close is sent).
func closeReason(s *Server, c *conn) <-chan *errorInfo {
	ch := make(chan *errorInfo, 1)
	s.mu.Lock()
	s.onConnClosed = func(x *conn, reason *errorInfo) {
		if x == c {
			ch <- reason
		}
	}
	s.mu.Unlock()
	return ch
}

// TestSlowSubscriberDisconnected: a raw subscriber that stops reading is
// disconnected with 80020 while its queue stays within MaxQueuedBytes.
func TestSlowSubscriberDisconnected(t *testing.T) {
	const limit = 256 << 10
	s := startServer(t, Options{MaxQueuedBytes: limit})
	formats(t, func(t *testing.T, binary bool) {
		c := dialRaw(t, s, binary, nil)
		id := c.expect(actConnected)["connectionId"].(string)
		slow := findConn(t, s, id)
		killed := closeReason(s, slow)
		name := uniq(t, "slow")
		c.send(map[string]any{"action": actAttach, "channel": name})
		c.expect(actAttached)
		// the client now stops reading; publish until the server gives up on it
		payload := strings.Repeat("x", 16<<10)
		var reason *errorInfo
	publish:
		for i := 0; i < 20000; i++ {
			m, _ := s.prepareMessages([]inMessage{{Name: "big", Data: rawData{kind: dataString, str: payload}}}, "", false, "", fmt.Sprint("p", i))
			if _, _, err := s.publish(name, m, nil, ""); err != nil {
				t.Fatal(err)
			}
			select {
			case reason = <-killed:
				break publish
			default:
			}
		}
		if reason == nil {
			select { // bounded: a close that never completes must fail, not hang
			case reason = <-killed:
			case <-time.After(testTimeout):
				t.Fatal("the slow subscriber's connection was never closed")
			}
		}
		if reason.Code != 80020 {
			t.Fatalf("slow subscriber closed with %v", reason)
		}
		slow.qmu.Lock()
		peak := slow.maxQueued
		slow.qmu.Unlock()
		if peak > limit {
			t.Fatalf("queue peaked at %d bytes, over the %d limit", peak, limit)
		}
		// reading again drains the socket and ends with DISCONNECTED 80020
		for {
			m, ok := c.recv()
			if !ok {
				t.Fatal("connection ended without DISCONNECTED")
			}
			if num(m["action"]) == actDisconnected {
				if errOf(m) != 80020 {
					t.Fatalf("DISCONNECTED %v", m)
				}
				break
			}
		}
		if _, ok := c.recv(); ok {
			t.Fatal("connection open after DISCONNECTED")
		}
	})
}

// TestChannelNameValidationAblyGo: an invalid name fails the channel with
// 40010 and the connection stays up (MUST 16).
func TestChannelNameValidationAblyGo(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c, _ := newRealtime(t, clientOpts(s, binary)...)
		if err := c.Channels.Get(":bad").Attach(ctxT(t)); errCode(err) != 40010 {
			t.Fatalf("attach invalid name: %v", err)
		}
		if err := c.Channels.Get("[bad").Publish(ctxT(t), "n", "d"); errCode(err) != 40010 {
			t.Fatalf("publish invalid name: %v", err)
		}
		if err := newREST(t, clientOpts(s, binary)...).Channels.Get(":bad").Publish(ctxT(t), "n", "d"); errCode(err) != 40010 {
			t.Fatalf("REST publish invalid name: %v", err)
		}
		if err := c.Channels.Get("fine").Attach(ctxT(t)); err != nil || c.Connection.State() != ably.ConnectionStateConnected {
			t.Fatalf("after invalid names: %v %v", err, c.Connection.State())
		}
	})
}
