package ablylocal

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// channel is one channel's state: attachments, history and dedupe memory.
type channel struct {
	name string

	mu         sync.Mutex
	seq        uint64
	history    []*message
	attached   map[*conn]int64 // connection → modes
	dedupe     map[string]dedupeEntry
	dedupeFIFO []dedupeKey
	members    map[string]*message // presence members by memberKey, Action PRESENT
	lastActive time.Time
	rate       rateWindow
}

// dedupeEntry remembers an accepted publish for idempotency (§7).
type dedupeEntry struct {
	serials []string
}

// dedupeKey orders ids for expiry.
type dedupeKey struct {
	id string
	at time.Time
}

// getChannel returns the named channel, creating it.
func (s *Server) getChannel(name string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[name]
	if ch == nil {
		ch = &channel{name: name, attached: map[*conn]int64{}, dedupe: map[string]dedupeEntry{}}
		s.channels[name] = ch
	}
	return ch
}

// lookupChannel returns the named channel or nil.
func (s *Server) lookupChannel(name string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[name]
}

// serial formats a channel sequence number as an opaque, ordered serial.
func (s *Server) serial(seq uint64) string {
	return fmt.Sprintf("%s-%016d", s.instance, seq)
}

// parseSerial returns the sequence number of a serial issued by this server.
func (s *Server) parseSerial(v string) (uint64, bool) {
	rest, ok := strings.CutPrefix(v, s.instance+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// attach registers c on the channel and sends ATTACHED, followed by any
// replay (channelSerial resume or rewind), all under the channel lock so no
// live message is missed or duplicated.
func (s *Server) attach(c *conn, name string, modes int64, params map[string]string, f *inFrame) {
	ch := s.getChannel(name)
	now := s.now()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.prune(now, s.opts.HistoryLimit, s.opts.HistoryTTL)
	_, already := ch.attached[c]
	ch.attached[c] = modes
	ch.lastActive = now
	c.mu.Lock()
	c.attached[name] = modes
	c.mu.Unlock()
	if c.closing() {
		// registered, then checked: a close that began before the check
		// may have taken c off its channels already, one that begins after
		// it sees this channel
		if !already {
			delete(ch.attached, c)
		}
		return
	}
	out := &outFrame{Action: actAttached, Channel: strp(name), ChannelSerial: s.serial(ch.seq), Flags: modes, Params: params}
	var replay []*message
	if already && f.ChannelSerial != "" {
		// a repeat ATTACH on the same connection: nothing was missed, and
		// replaying could duplicate deliveries still in flight
		out.Flags |= flagResumed
	} else if f.ChannelSerial != "" {
		if seq, ok := s.parseSerial(f.ChannelSerial); ok && seq <= ch.seq && (len(ch.history) == 0 && seq == ch.seq || len(ch.history) > 0 && seq+1 >= ch.history[0].seq) {
			replay = ch.since(seq)
			out.Flags |= flagResumed
		} else {
			out.Error = newErr(80016, 400, "cannot resume channel "+strconv.Quote(name)+" from serial "+strconv.Quote(f.ChannelSerial)+": messages since then are no longer available; attached at the live head")
		}
	} else if rw, ok := f.Params["rewind"]; ok {
		msgs, err := ch.rewind(rw, now)
		if err != nil {
			c.send(&outFrame{Action: actError, Channel: strp(name), Error: err})
			if !already {
				delete(ch.attached, c)
				c.mu.Lock()
				delete(c.attached, name)
				c.mu.Unlock()
			}
			return
		}
		replay = msgs
	}
	if len(replay) > 0 && modes&flagSubscribe == 0 {
		replay = nil
	}
	if len(replay) > 0 && f.ChannelSerial == "" {
		out.Flags |= flagHasBacklog // rewind: messages from before the attach follow
	}
	if len(replay) > 0 {
		// The client's position is ATTACHED's serial until each replayed
		// message moves it on: if the replay is cut short (a slow consumer
		// disconnected with 80020), the next resume starts after the last
		// message it really got, not at the head it never reached.
		out.ChannelSerial = s.serial(replay[0].seq - 1)
	}
	var sync []*outFrame
	if modes&flagPresenceSubscribe != 0 {
		sync = ch.syncFrames()
	}
	if len(sync) > 0 {
		out.Flags |= flagHasPresence
	}
	c.send(out)
	for _, f := range sync {
		c.send(f)
	}
	for _, m := range replay {
		if !c.echo && m.ConnectionID == c.id {
			continue // echo=false: the connection's own messages are not delivered
		}
		c.send(deliveryFrame(name, m.ConnectionID, "", []*message{m}))
	}
}

// since returns retained messages after seq (oldest first).
func (ch *channel) since(seq uint64) []*message {
	for i, m := range ch.history {
		if m.seq > seq {
			return append([]*message(nil), ch.history[i:]...)
		}
	}
	return nil
}

// rewind returns the messages selected by a rewind param: a count ("10")
// or a time span ("30s", "2m"); at most 100.
func (ch *channel) rewind(v string, now time.Time) ([]*message, *errorInfo) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		n = min(n, 100, len(ch.history))
		return append([]*message(nil), ch.history[len(ch.history)-n:]...), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return nil, newErr(40000, 400, "invalid rewind param "+strconv.Quote(v)+": use a message count such as \"10\" or a time span such as \"30s\" or \"2m\"")
	}
	from := now.Add(-d).UnixMilli()
	var out []*message
	for _, m := range ch.history {
		if m.Timestamp >= from {
			out = append(out, m)
		}
	}
	if len(out) > 100 {
		out = out[len(out)-100:]
	}
	return out, nil
}

// detach removes c's attachment to the channel.
func (s *Server) detach(c *conn, name string) {
	c.mu.Lock()
	delete(c.attached, name)
	entered := c.entered[name]
	delete(c.entered, name)
	c.mu.Unlock()
	if entered {
		s.leavePresence(c, name)
	}
	ch := s.lookupChannel(name)
	if ch == nil {
		return
	}
	ch.mu.Lock()
	delete(ch.attached, c)
	ch.mu.Unlock()
}

// setModes changes the modes of c's attachment to a channel.
func (s *Server) setModes(c *conn, name string, modes int64) {
	c.mu.Lock()
	if _, ok := c.attached[name]; ok {
		c.attached[name] = modes
	}
	c.mu.Unlock()
	if ch := s.lookupChannel(name); ch != nil {
		ch.mu.Lock()
		if _, ok := ch.attached[c]; ok {
			ch.attached[c] = modes
		}
		ch.mu.Unlock()
	}
}

// detachAll removes every attachment of c (connection closing).
func (s *Server) detachAll(c *conn) {
	c.mu.Lock()
	names := make([]string, 0, len(c.attached)+len(c.entered))
	for n := range c.attached {
		names = append(names, n)
	}
	for n := range c.entered {
		if _, ok := c.attached[n]; !ok {
			names = append(names, n)
		}
	}
	c.mu.Unlock()
	for _, n := range names {
		s.detach(c, n)
	}
}

// prune drops messages beyond the history bounds and expired dedupe ids.
func (ch *channel) prune(now time.Time, limit int, ttl time.Duration) {
	cut := 0
	if over := len(ch.history) - limit; over > 0 {
		cut = over
	}
	oldest := now.Add(-ttl).UnixMilli()
	for cut < len(ch.history) && ch.history[cut].Timestamp < oldest {
		cut++
	}
	if cut > 0 {
		clear(ch.history[:cut])
		ch.history = ch.history[cut:]
	}
}

// pruneDedupe forgets ids older than the dedupe window.
func (ch *channel) pruneDedupe(now time.Time, window time.Duration) {
	n := 0
	for n < len(ch.dedupeFIFO) && now.Sub(ch.dedupeFIFO[n].at) >= window {
		delete(ch.dedupe, ch.dedupeFIFO[n].id)
		n++
	}
	if n > 0 {
		ch.dedupeFIFO = ch.dedupeFIFO[n:]
	}
}

// publish stores messages on a channel and delivers them to subscribers.
// It returns the serials, and dup=true when the publish repeated ids seen in
// the dedupe window (then nothing is stored or delivered, and the original
// serials are returned). from is the publishing connection (nil for REST).
func (s *Server) publish(name string, msgs []*message, from *conn, pmID string) (serials []string, dup bool, err *errorInfo) {
	ch := s.getChannel(name)
	now := s.now()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.pruneDedupe(now, s.opts.DedupeWindow)
	for _, m := range msgs {
		if e, ok := ch.dedupe[m.ID]; ok && m.idGiven {
			return e.serials, true, nil
		}
	}
	if e := s.faults.publishError(name); e != nil {
		return nil, false, e
	}
	if s.limits && !ch.rate.allow(now) {
		return nil, false, newErr(42913, 429, "rate limit exceeded: more than 50 messages/s on channel "+strconv.Quote(name)+" (--limits ably)")
	}
	ts := now.UnixMilli()
	serials = make([]string, len(msgs))
	for i, m := range msgs {
		ch.seq++
		m.seq = ch.seq
		m.Serial = s.serial(ch.seq)
		m.Timestamp = ts
		serials[i] = m.Serial
	}
	ch.history = append(ch.history, msgs...)
	ch.prune(now, s.opts.HistoryLimit, s.opts.HistoryTTL)
	entry := dedupeEntry{serials: serials}
	for _, m := range msgs {
		if m.idGiven { // server-assigned ids are unique: nothing to remember
			ch.dedupe[m.ID] = entry
			ch.dedupeFIFO = append(ch.dedupeFIFO, dedupeKey{id: m.ID, at: now})
		}
	}
	ch.lastActive = now
	connID := ""
	if from != nil {
		connID = from.id
	}
	s.fanout(ch, deliveryFrame(name, connID, pmID, msgs), from)
	return serials, false, nil
}

// deliveryFrame builds the MESSAGE frame delivering msgs (§3.4).
func deliveryFrame(name, connID, pmID string, msgs []*message) *outFrame {
	return &outFrame{Action: actMessage, ID: pmID, Channel: strp(name), ChannelSerial: msgs[len(msgs)-1].Serial,
		ConnectionID: connID, Timestamp: msgs[0].Timestamp, Messages: nil, msgs: msgs}
}

// fanout queues a delivery to every subscribed attachment, encoding it once
// per format. Called with ch.mu held, so every subscriber sees one order.
func (s *Server) fanout(ch *channel, f *outFrame, from *conn) {
	var enc [2][]byte
	delivered := 0
	defer func() { s.accepted.record(ch.name, f, delivered) }() // the debug route's record (debug_journey.go)
	for c, modes := range ch.attached {
		if modes&flagSubscribe == 0 || (c == from && !c.echo) {
			continue
		}
		if enc[c.format] == nil {
			b, err := encodeFrame(c.format, f)
			if err != nil {
				s.log.Warn("ablylocal: cannot encode delivery", "channel", ch.name, "err", err)
				return
			}
			enc[c.format] = b
		}
		if c.enqueue(enc[c.format]) { // a frame dropped for a slow consumer is not delivered
			delivered++
		}
	}
}
