package ablylocal

import (
	"strconv"
	"strings"
	"time"
)

// Connection state retention (RTN15c, RTN16): a connection whose transport
// ends without CLOSE (dropped socket, DISCONNECT, token expiry, slow
// reader) keeps its identity for the connection state TTL. A client that
// comes back with resume=<connectionKey> (or a new client instance with
// recover=<connectionKey>) within the TTL gets the same connectionId, no
// error, its msgSerial sequence (frames it resends are acknowledged again,
// not re-published) and its presence members; its re-ATTACHes carry their
// channelSerial, get RESUMED and the messages published while it was away.
// Its attachments stop receiving while it is away, so the missed messages
// come once, from the replay, in order.

// presenceLeaveDelay is how long an abruptly disconnected connection's
// presence members stay before a LEAVE is sent for them (Ably: 15 s).
const presenceLeaveDelay = 15 * time.Second

// maxTombstones bounds the keys remembered as expired (80008).
const maxTombstones = 100000

// tombstoneTTL is how long an expired or closed connection key is
// remembered as such; after that it counts as unknown (80018).
const tombstoneTTL = 24 * time.Hour

// maxResults bounds the ACK/NACK frames a connection remembers for frames
// a resuming client sends again.
const maxResults = 1024

// ackRecord is an ACK or NACK already sent for one msgSerial.
type ackRecord struct {
	frame *outFrame
	// resend is set when the connection moved to a new transport: the
	// client may not have read this frame and resends its message.
	resend bool
}

// remember records the ACK/NACK sent for a msgSerial (reader goroutine).
func (c *conn) remember(serial int64, f *outFrame) {
	if c.results == nil {
		c.results = map[int64]*ackRecord{}
	}
	c.results[serial] = &ackRecord{frame: f}
	c.resultOrder = append(c.resultOrder, serial)
	if len(c.resultOrder) > maxResults {
		delete(c.results, c.resultOrder[0])
		c.resultOrder = c.resultOrder[1:]
	}
}

// resendResult re-sends the ACK/NACK of a repeated msgSerial if it was
// sent on an earlier transport; true when it did.
func (c *conn) resendResult(serial int64) bool {
	r := c.results[serial]
	if r == nil || !r.resend {
		return false
	}
	r.resend = false
	c.send(r.frame)
	return true
}

// resumeError says why a resume or recover key cannot be honoured.
func resumeError(code int, why string) *errorInfo {
	return newErr(code, 400, "Unable to recover connection: "+why)
}

// takeOver finds the connection state a resume/recover key names and hands
// it to c (a new transport): id, key, attachments, presence, msgSerial
// state. It returns an error (80018 unknown or malformed key, 80008
// expired) when c must start a fresh connection instead. A connection that
// is still live (recover from another client instance) loses its transport.
func (s *Server) takeOver(c *conn, key string) *errorInfo {
	if i := strings.IndexByte(key, '!'); i <= 0 || i == len(key)-1 {
		return resumeError(80018, "invalid connection key "+strconv.Quote(key)+" (malformed)")
	}
	s.mu.Lock()
	old := s.sessions[key]
	if old == nil {
		_, expired := s.tombstones[key]
		s.mu.Unlock()
		if expired {
			return resumeError(80008, "connection expired")
		}
		return resumeError(80018, "invalid connection key: this endpoint never issued it, or was restarted since")
	}
	s.mu.Unlock()
	old.mu.Lock()
	oldClientID := old.clientID
	old.mu.Unlock()
	if oldClientID != c.clientID {
		return resumeError(80018, "the connection key belongs to a connection with another clientId")
	}
	old.close(nil) // a live transport (recover while it runs) gives way
	old.qmu.Lock()
	disconnected := old.dying.Code != 0
	old.qmu.Unlock()
	if disconnected {
		old.cancel() // its client is back on this transport: no disconnectGrace
	}
	select {
	case <-old.done:
	case <-time.After(5 * time.Second):
		return resumeError(80008, "connection expired (its previous transport did not end)")
	}
	s.mu.Lock()
	if s.sessions[key] != old || old.retainedUntil.IsZero() {
		s.mu.Unlock()
		return resumeError(80008, "connection expired")
	}
	if !s.now().Before(old.retainedUntil) {
		s.expireLocked(old)
		s.mu.Unlock()
		s.leaveAll(old)
		return resumeError(80008, "connection expired")
	}
	old.stopTimers()
	old.retainedUntil = time.Time{}
	c.id, c.key = old.id, old.key // before c is published in sessions
	s.sessions[key] = c
	s.mu.Unlock()
	old.mu.Lock()
	c.mu.Lock()
	for n, m := range old.attached {
		c.attached[n] = m
	}
	c.entered = old.entered
	old.attached, old.entered = map[string]int64{}, nil
	c.mu.Unlock()
	old.mu.Unlock()
	c.lastSerial = old.lastSerial
	c.results, c.resultOrder = old.results, old.resultOrder
	for _, r := range c.results {
		r.resend = true
	}
	return nil
}

// retain keeps the state of a connection whose transport ended without
// CLOSE for the connection state TTL, and schedules the LEAVE of its
// presence members. Called by the connection's own goroutine at its end.
func (s *Server) retain(c *conn) {
	s.mu.Lock()
	if s.closed || s.sessions[c.key] != c {
		s.mu.Unlock()
		return
	}
	c.retainedUntil = s.now().Add(s.opts.ConnectionStateTTL)
	c.expireTimer = time.AfterFunc(s.opts.ConnectionStateTTL, func() {
		s.mu.Lock()
		if s.sessions[c.key] != c || c.retainedUntil.IsZero() {
			s.mu.Unlock()
			return
		}
		s.expireLocked(c)
		s.mu.Unlock()
		s.leaveAll(c)
	})
	c.leaveTimer = time.AfterFunc(min(presenceLeaveDelay, s.opts.ConnectionStateTTL), func() {
		s.mu.Lock()
		still := s.sessions[c.key] == c && !c.retainedUntil.IsZero()
		s.mu.Unlock()
		if still {
			s.leavePresenceAll(c)
		}
	})
	hook := s.onRetained
	s.mu.Unlock()
	s.log.Debug("ablylocal: connection state kept for resume", "conn", c.id, "ttl", s.opts.ConnectionStateTTL)
	if hook != nil {
		hook(c)
	}
}

// forget drops a connection's state at once (CLOSE, fatal error): its key
// is remembered as expired.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	if s.sessions[c.key] == c {
		s.expireLocked(c)
	}
	s.mu.Unlock()
}

// expireLocked removes a connection's state and remembers its key as
// expired. Called with s.mu held.
func (s *Server) expireLocked(c *conn) {
	c.stopTimers()
	c.retainedUntil = time.Time{}
	delete(s.sessions, c.key)
	now := s.now()
	if len(s.tombstones) >= maxTombstones {
		for k, until := range s.tombstones {
			if now.After(until) || len(s.tombstones) >= maxTombstones {
				delete(s.tombstones, k)
			}
		}
	}
	s.tombstones[c.key] = now.Add(tombstoneTTL)
}

// stopTimers stops a retained connection's expiry and presence timers.
// Called with s.mu held.
func (c *conn) stopTimers() {
	if c.expireTimer != nil {
		c.expireTimer.Stop()
	}
	if c.leaveTimer != nil {
		c.leaveTimer.Stop()
	}
}

// leaveAll ends every attachment and presence member of an expired state.
func (s *Server) leaveAll(c *conn) { s.detachAll(c) }

// leavePresenceAll sends the LEAVE of every member a retained connection
// entered (its client stayed away longer than presenceLeaveDelay).
func (s *Server) leavePresenceAll(c *conn) {
	c.mu.Lock()
	names := make([]string, 0, len(c.entered))
	for n := range c.entered {
		names = append(names, n)
	}
	c.entered = nil
	c.mu.Unlock()
	for _, n := range names {
		s.leavePresence(c, n)
	}
}

// stopRetained stops the timers of every retained connection (Close).
func (s *Server) stopRetained() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.sessions {
		c.stopTimers()
	}
}

// unfanout takes c off its channels' delivery lists but keeps its
// attachments (modes) for a resume.
func (s *Server) unfanout(c *conn) {
	c.mu.Lock()
	names := make([]string, 0, len(c.attached))
	for n := range c.attached {
		names = append(names, n)
	}
	c.mu.Unlock()
	for _, n := range names {
		if ch := s.lookupChannel(n); ch != nil {
			ch.mu.Lock()
			delete(ch.attached, c)
			ch.mu.Unlock()
		}
	}
}
