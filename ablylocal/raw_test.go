package ablylocal

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"
)

// rawClient is a bare WebSocket client speaking the Ably protocol, for
// checks the SDKs hide (exact fields, malformed input, slow readers).
type rawClient struct {
	t      testing.TB
	ws     *websocket.Conn
	binary bool
}

// dialRaw connects to the server with the given query (key added unless
// the query has credentials).
func dialRaw(t testing.TB, s *Server, binary bool, q url.Values) *rawClient {
	t.Helper()
	if q == nil {
		q = url.Values{}
	}
	if q.Get("key") == "" && q.Get("access_token") == "" {
		q.Set("key", s.Keys()[0].String())
	}
	if !binary {
		q.Set("format", "json")
	}
	ws, _, err := websocket.Dial(ctxT(t), "ws://"+s.Addr()+"/?"+q.Encode(), &websocket.DialOptions{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(4 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &rawClient{t: t, ws: ws, binary: binary}
}

// send encodes and writes a frame given as a map.
func (r *rawClient) send(frame map[string]any) {
	r.t.Helper()
	var b []byte
	var err error
	typ := websocket.MessageText
	if r.binary {
		b, err = msgpack.Marshal(frame)
		typ = websocket.MessageBinary
	} else {
		b, err = json.Marshal(frame)
	}
	if err != nil {
		r.t.Fatalf("encode: %v", err)
	}
	r.sendRaw(b)
	_ = typ
}

// sendRaw writes bytes as one frame of the client's format.
func (r *rawClient) sendRaw(b []byte) {
	r.t.Helper()
	typ := websocket.MessageText
	if r.binary {
		typ = websocket.MessageBinary
	}
	if err := r.ws.Write(ctxT(r.t), typ, b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// recv reads one frame; ok=false when the connection ended.
func (r *rawClient) recv() (map[string]any, bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	typ, b, err := r.ws.Read(ctx)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if r.binary {
		if typ != websocket.MessageBinary {
			r.t.Fatalf("msgpack connection got a text frame")
		}
		err = msgpack.Unmarshal(b, &m)
	} else {
		if typ != websocket.MessageText {
			r.t.Fatalf("JSON connection got a binary frame")
		}
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		r.t.Fatalf("decode %q: %v", b, err)
	}
	return m, true
}

// expect reads frames, skipping HEARTBEATs, until one with the given action.
func (r *rawClient) expect(action int) map[string]any {
	r.t.Helper()
	for {
		m, ok := r.recv()
		if !ok {
			r.t.Fatalf("connection ended while waiting for action %d", action)
		}
		a := num(m["action"])
		if a == int64(action) {
			return m
		}
		if a != actHeartbeat {
			r.t.Fatalf("got frame %v while waiting for action %d", m, action)
		}
	}
}

// num converts a decoded number of either format to int64 (-1 if absent).
func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case uint64:
		return int64(n)
	}
	return -1
}

// errOf returns the error code in a frame (0 if none).
func errOf(m map[string]any) int64 {
	e, _ := m["error"].(map[string]any)
	if e == nil {
		return 0
	}
	return num(e["code"])
}
