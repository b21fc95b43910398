package ablylocal

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// writeTimeout bounds one WebSocket write; a client that does not read for
// this long is dropped.
const writeTimeout = 30 * time.Second

// disconnectGrace is how long a transport stays open after its final
// DISCONNECTED until the client closes it (SDKs do when they reconnect):
// meanwhile readLoop drains, without handling, what the client still sends.
// Closing a socket with unread input makes the kernel reset the
// connection; the reset can discard what the client has not read yet (the
// DISCONNECTED included), and a client write that fails on it hangs
// ably-go v1.3.0 (its event loop writes with no deadline and nhooyr
// websocket 1.8.7 then waits for a close that only that loop would make).
// A resume of the connection (takeOver) and Server.Close skip the grace.
const disconnectGrace = time.Second

// conn is one realtime connection.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	id     string
	key    string
	format format
	echo   bool
	ctx    context.Context
	cancel context.CancelFunc

	// identity (replaced by in-band AUTH); guarded by mu
	mu       sync.Mutex
	ident    auth.Identity
	clientID string // effective identity: "", "*" or concrete
	expiry   *time.Timer
	attached map[string]int64 // channel → effective modes
	entered  map[string]bool  // channels where this connection entered presence
	discard  bool             // CLOSE or a fatal error: no resume

	lastSerial  int64                // highest msgSerial handled; reader goroutine only
	cork        *corkConn            // the hijacked connection (cork.go); nil: unknown
	results     map[int64]*ackRecord // ACK/NACK per recent msgSerial; reader goroutine only
	resultOrder []int64
	rate        rateWindow
	faultUsed   map[string]bool // channels published on while fault rules were in force; guarded by mu

	// resume state, guarded by s.mu
	done          chan struct{} // closed when the transport and its bookkeeping ended
	retainedUntil time.Time     // set while the state waits for a resume
	expireTimer   *time.Timer
	leaveTimer    *time.Timer

	// outbound queue
	qmu       sync.Mutex
	queue     [][]byte
	queued    int
	maxQueued int
	dying     *errorInfo // set once the connection is being closed
	writing   bool       // a goroutine is writing frames (writeLoop, or sendNow inline)
	wake      chan struct{}
	readDone  chan struct{} // closed when readLoop has returned
	hurry     chan struct{} // closed (hurryOnce) to skip disconnectGrace
	hurryOnce sync.Once
	closeOnce sync.Once
	acks      ackQueue // results held by a delay-ack fault; guarded by qmu
	lastWrite atomic.Int64
}

// serveRealtime upgrades a request on "/" and runs the connection.
func (s *Server) serveRealtime(w http.ResponseWriter, r *http.Request) {
	spy := &inputSpy{ResponseWriter: w}
	ws, err := websocket.Accept(spy, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		s.log.Debug("ablylocal: websocket upgrade failed", "err", err)
		return
	}
	ws.SetReadLimit(readLimit)
	q := r.URL.Query()
	f := formatMsgpack
	if strings.EqualFold(q.Get("format"), "json") {
		f = formatJSON
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close(websocket.StatusGoingAway, "server closing")
		return
	}
	s.connWG.Add(1)
	s.mu.Unlock()
	defer s.connWG.Done()

	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, ws: ws, format: f, echo: q.Get("echo") != "false", ctx: ctx, cancel: cancel,
		attached: map[string]int64{}, lastSerial: -1, cork: spy.cork, wake: make(chan struct{}, 1), readDone: make(chan struct{}), hurry: make(chan struct{}), done: make(chan struct{})}
	defer close(c.done)
	c.lastWrite.Store(time.Now().UnixNano())
	ident, clientID, aerr := s.authenticateConnect(q)
	if aerr != nil {
		s.log.Info("ablylocal: connection refused", "code", aerr.Code, "reason", aerr.Message)
		b, _ := marshal(f, &outFrame{Action: actError, Error: aerr})
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		_ = ws.Write(wctx, c.msgType(), b)
		wcancel()
		_ = ws.Close(websocket.StatusNormalClosure, "")
		cancel()
		return
	}
	c.ident, c.clientID = ident, clientID
	c.id = randomID(8)
	c.key = c.id + "!" + randomID(8)
	var resumeErr *errorInfo
	if prev := firstNonEmpty(q.Get("resume"), q.Get("recover")); prev != "" {
		resumeErr = s.takeOver(c, prev)
	}
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); c.writeLoop() }()
	s.mu.Lock()
	closing := s.closed
	if !closing {
		s.conns[c] = struct{}{}
		s.sessions[c.key] = c
	}
	s.mu.Unlock()
	if closing { // Close ran while this connection was authenticating
		c.close(newErr(80003, 503, "the local Ably endpoint is shutting down; reconnect later"))
		close(c.readDone)
		<-writerDone
		return
	}

	connected := &outFrame{Action: actConnected, ConnectionID: c.id, ConnectionKey: c.key,
		ConnectionDetails: c.details(), Timestamp: s.nowMs(), Error: resumeErr}
	if resumeErr == nil && q.Get("resume")+q.Get("recover") != "" {
		s.log.Debug("ablylocal: connection resumed", "conn", c.id)
	}
	c.send(connected)
	c.armExpiry()
	s.log.Debug("ablylocal: connected", "conn", c.id, "format", f.String(), "clientId", clientID)
	c.readLoop()
	close(c.readDone)
	c.close(nil)
	<-writerDone
	c.mu.Lock()
	discard := c.discard
	c.mu.Unlock()
	if discard {
		s.forget(c)
	} else {
		s.retain(c)
	}
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// details builds CONNECTED.connectionDetails for the current identity.
func (c *conn) details() *connDetails {
	c.mu.Lock()
	cid := c.clientID
	c.mu.Unlock()
	d := &connDetails{ConnectionKey: c.key, MaxMessageSize: maxMessageSize, MaxFrameSize: maxFrameSize,
		MaxInboundRate: maxInboundRate, ConnectionStateTTL: c.s.opts.ConnectionStateTTL.Milliseconds(),
		MaxIdleInterval: c.s.opts.MaxIdleInterval.Milliseconds(), ServerID: c.s.serverID}
	if cid != "" {
		d.ClientID = strp(cid)
	}
	return d
}

// msgType is the WebSocket frame type of the connection's format.
func (c *conn) msgType() websocket.MessageType {
	if c.format == formatJSON {
		return websocket.MessageText
	}
	return websocket.MessageBinary
}

// send encodes a frame in the connection's format and queues it.
func (c *conn) send(f *outFrame) {
	if b, ok := c.encode(f); ok {
		c.enqueue(b)
	}
}

// encode encodes a frame in the connection's format; a frame that cannot
// be encoded is logged and not sent.
func (c *conn) encode(f *outFrame) ([]byte, bool) {
	b, err := encodeFrame(c.format, f)
	if err != nil {
		c.s.log.Warn("ablylocal: cannot encode frame", "action", f.Action, "err", err)
		return nil, false
	}
	return b, true
}

// slowConsumer is the reason a slow consumer is disconnected with.
func slowConsumer() *errorInfo {
	return newErr(80020, 400, "client is not reading fast enough: outbound backlog exceeded; reconnect and catch up from history")
}

// enqueue queues an encoded frame and reports whether it was queued. A
// connection whose queue would exceed MaxQueuedBytes is a slow consumer: the
// frame is dropped and, in the same critical section, the connection is cut
// (cutLocked): its queue becomes the DISCONNECTED 80020 alone and nothing
// queued later is sent. The cut must be atomic: a frame queued after the
// dropped one would move the client's channelSerial past it, and its resume
// would then skip it while reporting continuity (resumed=true).
func (c *conn) enqueue(b []byte) bool {
	c.qmu.Lock()
	if c.dying != nil {
		c.qmu.Unlock()
		return false
	}
	if c.queued+len(b) > c.s.opts.MaxQueuedBytes {
		queued := c.queued
		reason := slowConsumer()
		c.cutLocked(reason)
		c.qmu.Unlock()
		c.wakeWriter()
		c.s.log.Warn("ablylocal: disconnecting slow subscriber", "conn", c.id, "queued", queued)
		// the rest of close asynchronously: the caller may hold a channel
		// lock that close needs (unfanout, presence)
		go c.close(reason)
		return false
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	if c.queued > c.maxQueued {
		c.maxQueued = c.queued
	}
	c.qmu.Unlock()
	c.wakeWriter()
	return true
}

// cutLocked drops the pending frames and makes DISCONNECTED with reason the
// last frame the connection sends. Called with qmu held.
func (c *conn) cutLocked(reason *errorInfo) {
	b, _ := marshal(c.format, &outFrame{Action: actDisconnected, Error: reason})
	c.queue, c.queued = [][]byte{b}, len(b)
	c.dying = reason
}

// sendNow writes a frame from the calling goroutine when nothing is queued
// or being written (else it queues it): a publish's ACK goes out from the
// reader that handled the publish, without waking writeLoop, one goroutine
// hand-off less per published message. Order is kept: a frame is written
// inline only when every earlier frame has been written. A client that
// does not read blocks its own reader here (up to writeTimeout), which is
// back-pressure on what it publishes.
func (c *conn) sendNow(f *outFrame) {
	b, ok := c.encode(f)
	if !ok {
		return
	}
	c.qmu.Lock()
	if c.dying != nil || c.writing || len(c.queue) > 0 {
		c.qmu.Unlock()
		c.enqueue(b)
		return
	}
	c.writing = true
	c.qmu.Unlock()
	ok = c.write(b)
	c.qmu.Lock()
	c.writing = false
	more := len(c.queue) > 0 || c.dying != nil
	c.qmu.Unlock()
	if !ok {
		_ = c.ws.CloseNow() // readLoop ends and closes the connection
		return
	}
	if more {
		c.wakeWriter()
	}
}

// wakeWriter tells writeLoop there is something to do.
func (c *conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close ends the connection. With a reason, pending frames are dropped and
// DISCONNECTED with that error is the last frame sent. A connection already
// cut by enqueue keeps the cut's DISCONNECTED (it may be on the wire by
// now) and closes with the cut's reason, whoever calls close first; the
// rest (delivery lists, conns map, hook) runs exactly once either way.
func (c *conn) close(reason *errorInfo) {
	c.closeOnce.Do(func() {
		c.qmu.Lock()
		switch {
		case c.dying != nil: // cut by enqueue (slow consumer)
			if c.dying.Code != 0 {
				reason = c.dying
			}
		case reason != nil:
			c.cutLocked(reason)
		default:
			c.dying = &errorInfo{}
		}
		c.qmu.Unlock()
		c.wakeWriter()
		c.mu.Lock()
		discard := c.discard
		c.mu.Unlock()
		if discard {
			c.s.detachAll(c)
		} else {
			c.s.unfanout(c) // keep attachments and presence for a resume
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		hook := c.s.onConnClosed
		c.s.mu.Unlock()
		c.mu.Lock()
		if c.expiry != nil {
			c.expiry.Stop()
		}
		c.mu.Unlock()
		if hook != nil {
			hook(c, reason)
		}
	})
}

// shutdown is Close's per-connection step: DISCONNECTED, then close
// without disconnectGrace (the endpoint is going away).
func (c *conn) shutdown(reason *errorInfo) {
	c.close(reason)
	c.skipGrace()
}

// skipGrace closes the transport as soon as its DISCONNECTED is written.
func (c *conn) skipGrace() { c.hurryOnce.Do(func() { close(c.hurry) }) }

// writeLoop writes queued frames in order and sends a HEARTBEAT whenever
// the connection has been quiet for 2/3 of maxIdleInterval.
func (c *conn) writeLoop() {
	defer c.cancel()
	idle := c.s.opts.MaxIdleInterval * 2 / 3
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		c.qmu.Lock()
		var frames [][]byte
		var dying *errorInfo
		if !c.writing { // else sendNow is writing: it wakes us when done
			frames, dying = c.queue, c.dying
			c.queue, c.queued = nil, 0
			c.writing = len(frames) > 0
		}
		c.qmu.Unlock()
		for _, b := range frames {
			if !c.write(b) {
				_ = c.ws.CloseNow()
				return
			}
		}
		if len(frames) > 0 {
			c.qmu.Lock()
			c.writing = false
			c.qmu.Unlock()
		}
		if dying != nil {
			if dying.Code != 0 {
				// DISCONNECTED was the last frame: the client reconnects, no
				// need to wait for a close handshake, only for the client to
				// close or readLoop to drain its input (disconnectGrace)
				grace := time.NewTimer(disconnectGrace)
				select {
				case <-c.readDone:
				case <-c.hurry:
				case <-c.ctx.Done():
				case <-grace.C:
				}
				grace.Stop()
				_ = c.ws.CloseNow()
			} else {
				_ = c.ws.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		if len(frames) > 0 {
			continue
		}
		timer.Reset(idle - time.Duration(time.Now().UnixNano()-c.lastWrite.Load()))
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			_ = c.ws.CloseNow()
			return
		case <-timer.C:
			c.qmu.Lock()
			cut := c.dying != nil
			c.qmu.Unlock()
			if cut {
				continue // closing: the next pass sends the DISCONNECTED, no HEARTBEAT after it
			}
			if time.Duration(time.Now().UnixNano()-c.lastWrite.Load()) >= idle {
				b, _ := marshal(c.format, &outFrame{Action: actHeartbeat})
				if !c.write(b) {
					_ = c.ws.CloseNow()
					return
				}
				c.s.mu.Lock()
				hook := c.s.onHeartbeat
				c.s.mu.Unlock()
				if hook != nil {
					hook(c)
				}
			}
		}
	}
}

// write sends one frame with a timeout; false means the connection is gone.
func (c *conn) write(b []byte) bool {
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, c.msgType(), b); err != nil {
		c.s.log.Debug("ablylocal: write failed", "conn", c.id, "err", err)
		return false
	}
	c.lastWrite.Store(time.Now().UnixNano())
	return true
}

// readLoop reads and handles inbound frames until the connection ends.
func (c *conn) readLoop() {
	if c.cork != nil {
		defer func() { _ = c.cork.setCorked(false) }() // frames sent from now on go out at once
	}
	for {
		if !c.settleCork() {
			return
		}
		typ, b, err := c.ws.Read(c.ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.StatusMessageTooBig {
				c.s.log.Info("ablylocal: frame over the read limit", "conn", c.id)
			}
			return
		}
		_ = typ // both frame types are decoded with the negotiated format
		if h := c.s.onInbound; h != nil {
			h(b)
		}
		if c.closing() {
			continue // read only so the transport ends cleanly (disconnectGrace)
		}
		f, derr := decodeFrame(c.format, b)
		if derr != nil {
			c.fatal(newErr(40000, 400, "malformed protocol message ("+c.format.String()+"): "+derr.Error()))
			return
		}
		if !c.handle(f, len(b)) {
			return
		}
	}
}

// closing reports whether close has begun or enqueue cut the connection:
// its inbound frames are no longer handled (an ATTACH now would put it
// back on a channel's delivery list after close took it off).
func (c *conn) closing() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.dying != nil
}

// fatal sends a connection-level ERROR and closes the connection.
func (c *conn) fatal(e *errorInfo) {
	c.s.log.Info("ablylocal: closing connection after error", "conn", c.id, "code", e.Code, "reason", e.Message)
	c.mu.Lock()
	c.discard = true // the client goes FAILED: nothing to resume
	c.mu.Unlock()
	c.send(&outFrame{Action: actError, Error: e})
	c.close(nil)
}
