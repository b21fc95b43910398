package ablylocal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
)

// frame builds a masked client frame (FIN as given) with a payload of n bytes.
func frame(fin bool, op byte, n int) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126, 0, 0)
		binary.BigEndian.PutUint16(out[2:], uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	out = append(out, 1, 2, 3, 4) // masking key
	return append(out, make([]byte, n)...)
}

// buffered returns a reader holding exactly b in its buffer.
func buffered(b []byte) *bufio.Reader {
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(b), blockingReader{}), 1<<20)
	if len(b) > 0 {
		_, _ = r.Peek(len(b))
	}
	return r
}

// blockingReader stands for a socket with nothing more to read: reading
// it in a test would be a bug, so it fails loudly.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { panic("read past the buffered bytes") }

// TestNextFrameBuffered: only a whole, final data frame already in memory
// counts; partial frames, fragments and control frames do not.
func TestNextFrameBuffered(t *testing.T) {
	two := append(frame(true, 2, 300), frame(true, 2, 10)...)
	for _, c := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"nothing", nil, false},
		{"one byte", []byte{0x82}, false},
		{"small binary", frame(true, 2, 100), true},
		{"small text", frame(true, 1, 5), true},
		{"16-bit length", frame(true, 2, 300), true},
		{"64-bit length", frame(true, 2, 70000), true},
		{"payload cut short", frame(true, 2, 300)[:200], false},
		{"16-bit header cut short", frame(true, 2, 300)[:3], false},
		{"fragment", frame(false, 2, 10), false},
		{"ping", frame(true, 9, 0), false},
		{"two frames", two, true},
	} {
		if got := nextFrameBuffered(buffered(c.in)); got != c.want {
			t.Errorf("%s: nextFrameBuffered = %v, want %v", c.name, got, c.want)
		}
	}
	if nextFrameBuffered(nil) {
		t.Error("a nil reader reported a buffered frame")
	}
}

// countingConn counts writes reaching the socket.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) { c.writes++; return c.Conn.Write(p) }

// TestCorkConnHoldsAndWritesOnce: corked writes reach the socket as one
// write, in order, when uncorked; uncorked writes go at once; Close writes
// what is still held.
func TestCorkConnHoldsAndWritesOnce(t *testing.T) {
	a, b := tcpPair(t)
	cc := &countingConn{Conn: a}
	c := &corkConn{Conn: cc}
	if _, err := c.Write([]byte("0")); err != nil || cc.writes != 1 {
		t.Fatalf("uncorked write: err %v, %d socket writes, want 1", err, cc.writes)
	}
	_ = c.setCorked(true)
	for _, s := range []string{"a", "b", "c"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if cc.writes != 1 {
		t.Fatalf("%d socket writes while corked, want still 1", cc.writes)
	}
	if err := c.setCorked(false); err != nil || cc.writes != 2 {
		t.Fatalf("uncork: err %v, %d socket writes, want 2", err, cc.writes)
	}
	_ = c.setCorked(true)
	_, _ = c.Write([]byte("z"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "0abcz" {
		t.Fatalf("peer read %q (%v), want \"0abcz\"", got, err)
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}
