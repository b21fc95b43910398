package ablylocal

import (
	"net/url"
	"strconv"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// fromAuthErr converts an auth package error to the wire error.
func fromAuthErr(e *auth.Error) *errorInfo {
	if e == nil {
		return nil
	}
	return newErr(e.Code, e.StatusCode, e.Message)
}

// authenticateConnect resolves the identity of a realtime connect request
// (§1.4) from its query parameters.
func (s *Server) authenticateConnect(q url.Values) (auth.Identity, string, *errorInfo) {
	param := q.Get("clientId")
	if key := q.Get("key"); key != "" {
		id, err := s.auth.AuthenticateBasic(key)
		if err != nil {
			return id, "", fromAuthErr(err)
		}
		return id, param, nil
	}
	tok := firstNonEmpty(q.Get("access_token"), q.Get("accessToken"))
	if tok == "" {
		return auth.Identity{}, "", newErr(40101, 401, "no credentials: connect with ?key=KEYNAME:SECRET or ?access_token=TOKEN")
	}
	id, err := s.auth.AuthenticateToken(tok)
	if err != nil {
		return id, "", fromAuthErr(err)
	}
	cid, cerr := tokenClientID(id.ClientID, param)
	return id, cid, cerr
}

// tokenClientID combines a token's clientId with a requested one (§1.4).
func tokenClientID(token, param string) (string, *errorInfo) {
	switch {
	case param == "" || param == token:
		return token, nil
	case token == "*":
		return param, nil
	case token == "":
		return "", newErr(40102, 401, "clientId "+strconv.Quote(param)+" is not allowed: the token has no clientId; request a token for that clientId")
	default:
		return "", newErr(40102, 401, "clientId "+strconv.Quote(param)+" conflicts with the token's clientId "+strconv.Quote(token))
	}
}

// armExpiry schedules DISCONNECTED 40142 at token expiry (§8.5).
func (c *conn) armExpiry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiry != nil {
		c.expiry.Stop()
		c.expiry = nil
	}
	if c.ident.Expires.IsZero() {
		return
	}
	d := c.ident.Expires.Sub(c.s.now())
	if d < 0 {
		d = 0
	}
	c.expiry = time.AfterFunc(d, func() {
		c.close(newErr(40142, 401, "token expired; renew it and reconnect"))
	})
}

// handle processes one inbound frame; false ends the connection.
func (c *conn) handle(f *inFrame, size int) bool {
	switch f.Action {
	case actHeartbeat:
		if f.ID != "" {
			c.send(&outFrame{Action: actHeartbeat, ID: f.ID})
		}
	case actConnect:
	case actClose:
		// detach first: a client that has read CLOSED must not still be
		// counted on its channels or listed as a presence member
		c.mu.Lock()
		c.discard = true
		c.mu.Unlock()
		c.s.detachAll(c)
		c.send(&outFrame{Action: actClosed})
		c.close(nil)
		return false
	case actDisconnect:
		c.close(nil)
		return false
	case actAttach:
		c.onAttach(f)
	case actDetach:
		name := f.channelName()
		c.s.detach(c, name)
		c.send(&outFrame{Action: actDetached, Channel: strp(name)})
	case actMessage, actPresence, actObject, actAnnotation:
		c.onPublish(f, size)
	case actAuth:
		return c.onAuth(f)
	case actSync:
		// ably-js asks for a presence sync (RTP17, after a resume); Ably
		// answers with the members and keeps the connection
		c.onSync(f)
	default:
		c.fatal(newErr(40000, 400, "unexpected protocol action "+strconv.Itoa(f.Action)+" from a client"))
		return false
	}
	return true
}

// onAuth handles in-band re-authentication (§8.5).
func (c *conn) onAuth(f *inFrame) bool {
	if f.Auth == nil || f.Auth.AccessToken == "" {
		c.fatal(newErr(40101, 401, "AUTH frame without auth.accessToken"))
		return false
	}
	id, err := c.s.auth.AuthenticateToken(f.Auth.AccessToken)
	if err != nil {
		c.fatal(fromAuthErr(err))
		return false
	}
	c.mu.Lock()
	old := c.clientID
	cid, cerr := tokenClientID(id.ClientID, "")
	if cerr == nil && old != "" && old != "*" && cid != old && cid != "*" {
		cerr = newErr(40102, 401, "the new token's clientId "+strconv.Quote(cid)+" differs from the connection's "+strconv.Quote(old))
	}
	if cerr == nil {
		c.ident = id
		if cid != "*" || old == "" {
			c.clientID = cid
		}
	}
	c.mu.Unlock()
	if cerr != nil {
		c.fatal(cerr)
		return false
	}
	c.armExpiry()
	c.send(&outFrame{Action: actConnected, ConnectionID: c.id, ConnectionKey: c.key, ConnectionDetails: c.details(), Timestamp: c.s.nowMs()})
	c.applyCapability(id.Capability)
	return true
}

// applyCapability narrows c's attachments to what a new capability permits
// (after in-band AUTH): a channel left with no permitted mode is detached
// with a channel ERROR 40160, as Ably does; one that keeps some modes loses
// the others (and its presence members when PRESENCE goes).
func (c *conn) applyCapability(capab auth.Capability) {
	c.mu.Lock()
	type change struct {
		name       string
		old, modes int64
	}
	var changes []change
	for name, old := range c.attached {
		if modes := old & allowedModes(capab, name); modes != old {
			changes = append(changes, change{name, old, modes})
		}
	}
	c.mu.Unlock()
	for _, ch := range changes {
		if ch.modes == 0 {
			c.s.detach(c, ch.name)
			c.send(&outFrame{Action: actError, Channel: strp(ch.name), Error: newErr(40160, 401,
				"channel "+strconv.Quote(ch.name)+" detached: the new token's capability permits nothing on it; request a token that includes this channel")})
			continue
		}
		c.s.setModes(c, ch.name, ch.modes)
		if ch.old&flagPresence != 0 && ch.modes&flagPresence == 0 {
			c.mu.Lock()
			entered := c.entered[ch.name]
			delete(c.entered, ch.name)
			c.mu.Unlock()
			if entered {
				c.s.leavePresence(c, ch.name)
			}
		}
	}
}

// capability returns the connection's current capability and clientId.
func (c *conn) identity() (auth.Capability, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ident.Capability, c.clientID, c.ident.Token != ""
}

// attachedModes returns the modes of c's attachment to a channel; ok=false
// when c is not attached (publishing without attaching is allowed).
func (c *conn) attachedModes(name string) (modes int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	modes, ok = c.attached[name]
	return modes, ok
}

// onAttach handles ATTACH (§3.1).
func (c *conn) onAttach(f *inFrame) {
	name := f.channelName()
	chErr := func(e *errorInfo) { c.send(&outFrame{Action: actError, Channel: strp(name), Error: e}) }
	if e := validateChannelName(name); e != nil {
		chErr(e)
		return
	}
	capab, _, _ := c.identity()
	modes, echo, err := attachModes(f, capab, name)
	if err != nil {
		chErr(err)
		return
	}
	if modes == 0 {
		chErr(newErr(40160, 401, "channel "+strconv.Quote(name)+" denied: the credentials' capability grants none of the requested modes (needs subscribe, publish or presence)"))
		return
	}
	c.s.attach(c, name, modes, echo, f)
}

// onPublish handles MESSAGE (and the unsupported PRESENCE/OBJECT/ANNOTATION)
// frames with exactly one ACK or NACK each, in msgSerial order (§3.3).
func (c *conn) onPublish(f *inFrame, size int) {
	serial := f.MsgSerial
	if serial <= c.lastSerial {
		// a frame resent after a resume (RTN19a2) gets its ACK again, once;
		// a repeat on the same transport is dropped
		if !c.resendResult(serial) {
			c.s.log.Debug("ablylocal: dropping repeated msgSerial", "conn", c.id, "msgSerial", serial)
		}
		return
	}
	c.lastSerial = serial
	res, err := c.publishFrame(f, size)
	if err != nil {
		nack := &outFrame{Action: actNack, MsgSerial: &serial, Count: 1, Error: err}
		c.remember(serial, nack)
		c.sendResult(nack, 0)
		return
	}
	out := &outFrame{Action: actAck, MsgSerial: &serial, Count: 1}
	if res != nil {
		s := make([]*string, len(res))
		for i := range res {
			s[i] = strp(res[i])
		}
		out.Res = []ackResult{{Serials: s}}
	}
	c.remember(serial, out)
	c.sendResult(out, c.s.faults.ackDelay(f.channelName()))
}

// publishFrame validates and publishes a MESSAGE frame, returning the serials.
func (c *conn) publishFrame(f *inFrame, size int) ([]string, *errorInfo) {
	name := f.channelName()
	switch f.Action {
	case actObject, actAnnotation:
		return nil, newErr(40000, 400, "LiveObjects and annotations are not supported by the livesync-dev local Ably endpoint")
	}
	if size > maxFrameSize {
		return nil, newErr(40009, 400, "protocol message of "+strconv.Itoa(size)+" bytes exceeds maxFrameSize "+strconv.Itoa(maxFrameSize))
	}
	if f.Action == actPresence {
		return c.presenceFrame(f, name)
	}
	if e := validateChannelName(name); e != nil {
		return nil, e
	}
	capab, cid, isToken := c.identity()
	if !capab.Allows(name, "publish") {
		return nil, newErr(40160, 401, "publish to channel "+strconv.Quote(name)+" denied: the capability lacks \"publish\" for it")
	}
	if modes, ok := c.attachedModes(name); ok && modes&flagPublish == 0 {
		return nil, modeError("publish", "PUBLISH", name)
	}
	if len(f.Messages) == 0 {
		return nil, newErr(40000, 400, "MESSAGE frame without messages")
	}
	c.noteFaultChannel(name)
	if c.s.limits && !c.rate.allow(c.s.now()) {
		return nil, newErr(42911, 429, "rate limit exceeded: more than 50 messages/s on this connection (--limits ably)")
	}
	msgs, err := c.s.prepareMessages(f.Messages, cid, isToken, c.id, c.id+":"+strconv.FormatInt(f.MsgSerial, 10))
	if err != nil {
		return nil, err
	}
	serials, _, perr := c.s.publish(name, msgs, c, c.id+":"+strconv.FormatInt(f.MsgSerial, 10))
	return serials, perr
}
