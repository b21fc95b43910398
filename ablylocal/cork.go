package ablylocal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Corking. A publisher with many publishes in flight on one connection
// (the connector: one per channel) often has several frames already read
// into memory when the reader gets to them. Each frame still gets its own
// ACK frame (one per msgSerial, count 1), but while the next inbound frame
// is complete in memory, so that handling it cannot wait on the network,
// outbound frames are collected and written together when the reader is
// about to wait for input: one socket write instead of one per ACK, and
// the client reads them in one go. When frames arrive one at a time
// nothing is held, so no frame waits longer than it did.

// inputSpy is the http.ResponseWriter given to the WebSocket upgrade: it
// wraps the hijacked connection in a corkConn that also keeps the reader
// the library reads the connection through.
type inputSpy struct {
	http.ResponseWriter
	cork *corkConn
}

// Hijack hijacks the underlying connection and wraps it in a corkConn.
func (w *inputSpy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("http.ResponseWriter does not implement http.Hijacker")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nc, brw, err
	}
	w.cork = &corkConn{Conn: nc, in: brw.Reader}
	return w.cork, brw, nil
}

// corkConn is a net.Conn whose writes are held while corked and written in
// one piece by uncork.
type corkConn struct {
	net.Conn
	in     *bufio.Reader // what the WebSocket library reads through; the reader goroutine peeks at it
	mu     sync.Mutex    // held across socket writes: keeps held and new bytes in order
	corked bool
	held   []byte
}

// Write sends p, or holds it while corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// setCorked corks (writes are held) or uncorks (held bytes are written
// now, within writeTimeout).
func (c *corkConn) setCorked(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = on
	if on || len(c.held) == 0 {
		return nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.Conn.Write(c.held)
	_ = c.Conn.SetWriteDeadline(time.Time{})
	c.held = c.held[:0]
	if cap(c.held) > 64<<10 {
		c.held = nil // do not keep a large burst's buffer
	}
	return err
}

// Close writes what is held (briefly: the peer may have stopped reading),
// then closes the connection. It never waits for a write in progress: a
// write blocked on a peer that stopped reading ends when the connection
// closes, as it did without corking.
func (c *corkConn) Close() error {
	if c.mu.TryLock() {
		if len(c.held) > 0 {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
			_, _ = c.Conn.Write(c.held)
		}
		c.corked, c.held = false, nil
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// closeFlushTimeout bounds writing held frames while closing.
const closeFlushTimeout = 250 * time.Millisecond

// nextFrameBuffered reports whether br already holds a whole, unfragmented
// WebSocket data frame, so reading it cannot block.
func nextFrameBuffered(br *bufio.Reader) bool {
	if br == nil {
		return false
	}
	n := br.Buffered()
	if n < 2 {
		return false
	}
	h, err := br.Peek(min(n, 14))
	if err != nil {
		return false
	}
	if h[0]&0x80 == 0 {
		return false // a fragment: the rest may still be on its way
	}
	if op := h[0] & 0x0f; op != 1 && op != 2 {
		return false // control frames are left to the library
	}
	hdr, size := 2, uint64(h[1]&0x7f)
	switch size {
	case 126:
		if len(h) < 4 {
			return false
		}
		hdr, size = 4, uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		if len(h) < 10 {
			return false
		}
		hdr, size = 10, binary.BigEndian.Uint64(h[2:10])
	}
	if h[1]&0x80 != 0 {
		hdr += 4 // client frames carry a masking key
	}
	return n >= hdr && size <= uint64(n-hdr)
}

// settleCork corks the connection while the next inbound frame is already
// in memory and uncorks it before the reader may wait for input. Reader
// goroutine only; false when the held bytes could not be written.
func (c *conn) settleCork() bool {
	if c.cork == nil {
		return true
	}
	if err := c.cork.setCorked(nextFrameBuffered(c.cork.in)); err != nil {
		c.s.log.Debug("ablylocal: write failed", "conn", c.id, "err", err)
		_ = c.ws.CloseNow()
		return false
	}
	return true
}
