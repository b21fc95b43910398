package faultsuite

import (
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// stallProxy forwards TCP between a client and the endpoint; stall makes
// it stop reading the endpoint's side of every open connection, as a
// client whose process is starved or whose link is saturated: the
// endpoint's writes back up into its own queue. Connections opened after
// the stall (the client's reconnect) flow normally. ably-go cannot be made
// to stop reading by a slow handler (it queues deliveries per listener
// without bound), hence the proxy.
type stallProxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	conns []*proxied
}

// proxied is one forwarded connection; gate is closed while it flows.
type proxied struct {
	mu   sync.Mutex
	gate chan struct{}
}

func (p *proxied) wait() {
	p.mu.Lock()
	g := p.gate
	p.mu.Unlock()
	<-g
}

// startStallProxy listens on a free 127.0.0.1 port and forwards to
// upstream until the test ends.
func startStallProxy(t *testing.T, upstream string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

// port is the proxy's port.
func (p *stallProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

// forward copies both ways; the endpoint → client copy waits on the gate
// before each read, and the upstream socket's receive buffer is small, so
// a stall backs up into the endpoint quickly.
func (p *stallProxy) forward(c net.Conn) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
	}}
	u, err := d.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	pc := &proxied{gate: make(chan struct{})}
	close(pc.gate)
	p.mu.Lock()
	p.conns = append(p.conns, pc)
	p.mu.Unlock()
	go func() { _, _ = io.Copy(u, c); u.Close() }()
	buf := make([]byte, 4<<10)
	for {
		pc.wait()
		n, err := u.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
	u.Close()
}

// stall stops the flow from the endpoint on every open connection.
func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.mu.Lock()
		c.gate = make(chan struct{})
		c.mu.Unlock()
	}
}

// release lets every stalled connection flow again.
func (p *stallProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.mu.Lock()
		select {
		case <-c.gate:
		default:
			close(c.gate)
		}
		c.mu.Unlock()
	}
}

// hostPort joins a host and port.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
