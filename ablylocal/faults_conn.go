package ablylocal

import (
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// allowN records one event at now and reports whether it stays within
// limit for the current second (a rate fault's own limit).
func (r *rateWindow) allowN(now time.Time, limit int) bool {
	sec := now.Unix()
	if sec != r.second {
		r.second, r.count = sec, 0
	}
	if r.count >= limit {
		return false
	}
	r.count++
	return true
}

// noteFaultChannel remembers that c published on name, so a drop rule on
// that channel finds the publisher as well as the subscribers. It records
// only while rules are in force.
func (c *conn) noteFaultChannel(name string) {
	if c.s.faults.n.Load() == 0 {
		return
	}
	c.mu.Lock()
	if c.faultUsed == nil {
		c.faultUsed = map[string]bool{}
	}
	c.faultUsed[name] = true
	c.mu.Unlock()
}

// uses reports whether c is attached to or published on a channel r matches.
func (c *conn) uses(r fault.Rule) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.attached {
		if r.Matches(name) {
			return true
		}
	}
	for name := range c.faultUsed {
		if r.Matches(name) {
			return true
		}
	}
	return false
}

// dropTransport ends c's transport without DISCONNECTED, as a network
// failure would: the connection's state is kept for a resume.
func (c *conn) dropTransport() { _ = c.ws.CloseNow() }

// dropLoop applies drop rules every 100 ms until none is left or the
// server closes.
func (s *Server) dropLoop() {
	fs := &s.faults
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		s.mu.Lock()
		closed := s.closed
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		fs.mu.Lock()
		fs.pruneLocked()
		var due []*liveFault
		drops := 0
		now := fs.now()
		for _, f := range fs.rules {
			if !f.Drop {
				continue
			}
			drops++
			if f.lastDrop.IsZero() || f.Every > 0 && now.Sub(f.lastDrop) >= time.Duration(f.Every) {
				due = append(due, f)
			}
		}
		if closed || drops == 0 {
			fs.dropping = false
			fs.mu.Unlock()
			return
		}
		rules := make([]fault.Rule, len(due))
		for i, f := range due {
			rules[i] = f.Rule
		}
		fs.mu.Unlock()
		for i, r := range rules {
			var victims []*conn
			for _, c := range conns {
				if c.uses(r) {
					victims = append(victims, c)
				}
			}
			if len(victims) == 0 {
				continue
			}
			fs.mu.Lock()
			due[i].lastDrop = now
			due[i].Hits += int64(len(victims))
			fs.mu.Unlock()
			s.log.Info("ablylocal: fault rule drops connections", "id", r.ID, "connections", len(victims))
			for _, c := range victims {
				c.dropTransport()
			}
			if r.Every == 0 {
				s.ClearFaults(r.ID) // a one-off drop is spent
			}
		}
	}
}

// ackQueue holds a connection's ACKs and NACKs while a delay-ack rule
// delays one of them: later results wait behind it, so the client still
// reads them in msgSerial order.
type ackQueue struct {
	items   []delayedAck
	running bool
}

// delayedAck is one result and when it may be sent.
type delayedAck struct {
	f  *outFrame
	at time.Time
}

// sendResult sends an ACK or NACK, after delay, and after every result
// queued before it.
func (c *conn) sendResult(f *outFrame, delay time.Duration) {
	c.qmu.Lock()
	if delay <= 0 && len(c.acks.items) == 0 {
		c.qmu.Unlock()
		c.sendNow(f)
		return
	}
	c.acks.items = append(c.acks.items, delayedAck{f: f, at: time.Now().Add(delay)})
	start := !c.acks.running
	c.acks.running = true
	c.qmu.Unlock()
	if start {
		go c.drainResults()
	}
}

// drainResults sends queued results at their time, in order.
func (c *conn) drainResults() {
	for {
		c.qmu.Lock()
		if len(c.acks.items) == 0 {
			c.acks.running = false
			c.qmu.Unlock()
			return
		}
		next := c.acks.items[0]
		c.qmu.Unlock()
		if d := time.Until(next.at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				c.qmu.Lock()
				c.acks.items, c.acks.running = nil, false
				c.qmu.Unlock()
				return
			}
		}
		c.send(next.f)
		c.qmu.Lock()
		c.acks.items = c.acks.items[1:]
		c.qmu.Unlock()
	}
}
