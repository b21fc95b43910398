package ablylocal

import (
	"net/http"
	"strconv"
)

// Presence actions (PresenceMessage.action).
const (
	presAbsent  = 0
	presPresent = 1
	presEnter   = 2
	presLeave   = 3
	presUpdate  = 4
)

// syncPageSize is the number of members per SYNC frame.
const syncPageSize = 100

// memberKey identifies a presence member: one clientId on one connection.
func memberKey(connID, clientID string) string { return connID + "\x00" + clientID }

// presenceFrame validates a PRESENCE frame from c and applies it (§8.6).
func (c *conn) presenceFrame(f *inFrame, name string) ([]string, *errorInfo) {
	if e := validateChannelName(name); e != nil {
		return nil, e
	}
	capab, cid, isToken := c.identity()
	if !capab.Allows(name, "presence") {
		return nil, newErr(40160, 401, "presence on channel "+strconv.Quote(name)+" denied: the capability lacks \"presence\" for it")
	}
	if modes, ok := c.attachedModes(name); ok && modes&flagPresence == 0 {
		return nil, modeError("enter presence", "PRESENCE", name)
	}
	if len(f.Presence) == 0 {
		return nil, newErr(40000, 400, "PRESENCE frame without presence messages")
	}
	if c.s.limits && !c.rate.allow(c.s.now()) {
		return nil, newErr(42911, 429, "rate limit exceeded: more than 50 messages/s on this connection (--limits ably)")
	}
	in := make([]inMessage, len(f.Presence))
	for i, p := range f.Presence {
		if p.Action != presEnter && p.Action != presLeave && p.Action != presUpdate {
			return nil, newErr(40000, 400, "presence action "+strconv.Itoa(p.Action)+" cannot be sent by a client: use enter (2), leave (3) or update (4)")
		}
		in[i] = inMessage{ClientID: p.ClientID, Data: p.Data, Encoding: p.Encoding, Extras: p.Extras}
	}
	idBase := c.id + ":" + strconv.FormatInt(f.MsgSerial, 10)
	msgs, err := c.s.prepareMessages(in, cid, isToken, c.id, idBase)
	if err != nil {
		return nil, err
	}
	for i, m := range msgs {
		if m.ClientID == "" || m.ClientID == "*" {
			return nil, newErr(91000, 400, "cannot enter presence on channel "+strconv.Quote(name)+" without a clientId: connect with a clientId or use enterClient")
		}
		m.Action = f.Presence[i].Action
		m.ID = idBase + ":" + strconv.Itoa(i)
	}
	c.mu.Lock()
	if c.entered == nil {
		c.entered = map[string]bool{}
	}
	c.entered[name] = true
	c.mu.Unlock()
	c.s.applyPresence(name, msgs)
	return nil, nil
}

// applyPresence updates the member set and broadcasts the presence
// messages to PRESENCE_SUBSCRIBE attachments, the sender included.
func (s *Server) applyPresence(name string, msgs []*message) {
	ch := s.getChannel(name)
	now := s.now()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.members == nil {
		ch.members = map[string]*message{}
	}
	ts := now.UnixMilli()
	for _, m := range msgs {
		m.Timestamp = ts
		k := memberKey(m.ConnectionID, m.ClientID)
		if m.Action == presLeave {
			delete(ch.members, k)
			continue
		}
		stored := *m
		stored.Action = presPresent
		ch.members[k] = &stored
	}
	ch.lastActive = now
	s.broadcastPresence(ch, msgs)
}

// broadcastPresence queues a PRESENCE frame to every presence subscriber.
// Called with ch.mu held.
func (s *Server) broadcastPresence(ch *channel, msgs []*message) {
	f := &outFrame{Action: actPresence, Channel: strp(ch.name), Timestamp: msgs[0].Timestamp, pres: msgs}
	var enc [2][]byte
	for c, modes := range ch.attached {
		if modes&flagPresenceSubscribe == 0 {
			continue
		}
		if enc[c.format] == nil {
			b, err := encodeFrame(c.format, f)
			if err != nil {
				s.log.Warn("ablylocal: cannot encode presence", "channel", ch.name, "err", err)
				return
			}
			enc[c.format] = b
		}
		c.enqueue(enc[c.format])
	}
}

// leavePresence removes c's members from a channel, broadcasting a
// server-generated LEAVE (its id does not start with the connectionId).
func (s *Server) leavePresence(c *conn, name string) {
	ch := s.lookupChannel(name)
	if ch == nil {
		return
	}
	ts := s.nowMs()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var leaves []*message
	for k, m := range ch.members {
		if m.ConnectionID != c.id {
			continue
		}
		delete(ch.members, k)
		l := *m
		l.Action = presLeave
		l.ID = "srv" + randomID(6) + ":0:0"
		l.Timestamp = max(ts, m.Timestamp)
		leaves = append(leaves, &l)
	}
	if len(leaves) > 0 {
		s.broadcastPresence(ch, leaves)
	}
}

// syncFrames returns the SYNC frames listing the channel's members; the
// last frame's channelSerial has an empty cursor. Called with ch.mu held.
func (ch *channel) syncFrames() []*outFrame {
	if len(ch.members) == 0 {
		return nil
	}
	all := make([]*message, 0, len(ch.members))
	for _, m := range ch.members {
		all = append(all, m)
	}
	syncID := randomID(4)
	var out []*outFrame
	for i := 0; i < len(all); i += syncPageSize {
		end := min(i+syncPageSize, len(all))
		cursor := ""
		if end < len(all) {
			cursor = strconv.Itoa(end)
		}
		out = append(out, &outFrame{Action: actSync, Channel: strp(ch.name), ChannelSerial: syncID + ":" + cursor, pres: all[i:end]})
	}
	return out
}

// onSync answers a client's SYNC request with SYNC frames of the current
// members (one empty page when there are none). A channel that is not
// attached with PRESENCE_SUBSCRIBE gets nothing: presence is not delivered
// to it.
func (c *conn) onSync(f *inFrame) {
	name := f.channelName()
	modes, ok := c.attachedModes(name)
	if !ok || modes&flagPresenceSubscribe == 0 {
		c.s.log.Debug("ablylocal: ignoring SYNC for a channel without presence_subscribe", "conn", c.id, "channel", name)
		return
	}
	ch := c.s.getChannel(name)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	frames := ch.syncFrames()
	if len(frames) == 0 {
		frames = []*outFrame{{Action: actSync, Channel: strp(name), ChannelSerial: randomID(4) + ":"}}
	}
	for _, fr := range frames {
		c.send(fr)
	}
}

// presenceMembers handles GET /channels/{name}/presence: the current
// members (action PRESENT), optionally filtered by clientId/connectionId.
func (q *restReq) presenceMembers(name string) {
	v := q.r.URL.Query()
	var out []outMessage
	if ch := q.s.lookupChannel(name); ch != nil {
		ch.mu.Lock()
		for _, m := range ch.members {
			if (v.Get("clientId") == "" || v.Get("clientId") == m.ClientID) && (v.Get("connectionId") == "" || v.Get("connectionId") == m.ConnectionID) {
				out = append(out, wireMessage(m, q.out))
			}
		}
		ch.mu.Unlock()
	}
	if out == nil {
		out = []outMessage{}
	}
	q.reply(http.StatusOK, out, "")
}
