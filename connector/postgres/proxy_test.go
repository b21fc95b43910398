package postgres

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// blackholeProxy forwards TCP connections to an address; freeze makes the
// connections open at that moment swallow everything in both directions
// (a network path that silently stopped), while later connections work.
type blackholeProxy struct {
	ln       net.Listener
	target   string
	accepted atomic.Int64 // connections accepted so far
	swallow  atomic.Int64 // bytes swallowed from clients of frozen connections
	mu       sync.Mutex
	conns    []*proxyConn
}

type proxyConn struct {
	frozen atomic.Bool
}

func startProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pc := &proxyConn{}
			p.mu.Lock()
			p.conns = append(p.conns, pc)
			p.mu.Unlock()
			t.Cleanup(func() { c.Close(); up.Close() })
			go p.pipe(pc, up, c, true)
			go p.pipe(pc, c, up, false)
		}
	}()
	return p
}

// pipe copies src to dst until either ends; while pc is frozen the data is
// read and dropped.
func (p *blackholeProxy) pipe(pc *proxyConn, dst io.Writer, src io.Reader, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if pc.frozen.Load() {
				if fromClient {
					p.swallow.Add(int64(n))
				}
			} else if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *blackholeProxy) addr() string { return p.ln.Addr().String() }

// freeze blackholes every connection open now.
func (p *blackholeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.frozen.Store(true)
	}
}
