package ablylocal

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestRawConnectedFrame checks CONNECTED is first and complete (MUST 3).
func TestRawConnectedFrame(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c := dialRaw(t, s, binary, url.Values{"clientId": {"bob"}})
		m := c.expect(actConnected)
		id, _ := m["connectionId"].(string)
		if id == "" || strings.Contains(id, ":") {
			t.Fatalf("connectionId %q", id)
		}
		d, _ := m["connectionDetails"].(map[string]any)
		if d == nil || d["clientId"] != "bob" || d["connectionKey"] == "" || d["serverId"] == "" {
			t.Fatalf("connectionDetails = %v", d)
		}
		for k, want := range map[string]int64{"maxMessageSize": 65536, "maxFrameSize": 524288, "connectionStateTtl": 120000, "maxIdleInterval": 15000} {
			if got := num(d[k]); got != want {
				t.Fatalf("%s = %v, want %d", k, d[k], want)
			}
		}
		if errOf(m) != 0 {
			t.Fatalf("unexpected error on CONNECTED: %v", m)
		}
	})
}

// TestRawAckRules: msgSerial 0 serialised, count 1, res serials, ACK in order,
// repeated serials dropped, no ACK for ATTACH (MUST 4, 7).
func TestRawAckRules(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		ch := uniq(t, "ack")
		c.send(map[string]any{"action": actAttach, "channel": ch, "channelSerial": nil, "msgSerial": 0})
		att := c.expect(actAttached)
		if att["channel"] != ch || num(att["flags"]) != defaultModes || att["channelSerial"] == "" {
			t.Fatalf("ATTACHED = %v", att)
		}
		for i := 0; i < 3; i++ {
			c.send(map[string]any{"action": actMessage, "channel": ch, "msgSerial": i, "messages": []any{map[string]any{"name": "n", "data": "d"}}})
		}
		c.send(map[string]any{"action": actMessage, "channel": ch, "msgSerial": 1, "messages": []any{map[string]any{"data": "again"}}})
		c.send(map[string]any{"action": actHeartbeat, "id": "ping-1"})
		acks := 0
		for acks < 3 {
			m, ok := c.recv()
			if !ok {
				t.Fatal("connection ended")
			}
			switch num(m["action"]) {
			case actMessage:
			case actAck:
				if _, present := m["msgSerial"]; !present || num(m["msgSerial"]) != int64(acks) || num(m["count"]) != 1 {
					t.Fatalf("ACK %d = %v", acks, m)
				}
				res, _ := m["res"].([]any)
				if len(res) != 1 {
					t.Fatalf("ACK res = %v", m["res"])
				}
				acks++
			default:
				t.Fatalf("unexpected frame %v", m)
			}
		}
		// the repeated msgSerial 1 is dropped: next comes the ping echo
		hb := c.expect(actHeartbeat)
		if hb["id"] != "ping-1" {
			t.Fatalf("heartbeat echo = %v", hb)
		}
		if n := len(s.lookupChannel(ch).history); n != 3 {
			t.Fatalf("history has %d messages, want 3", n)
		}
	})
}

// TestRawAttachErrorsKeepConnection: invalid names and DETACH (MUST 6, 16).
func TestRawAttachErrorsKeepConnection(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		for _, name := range []string{"", ":x", "[?rewind=1]x", "a\nb"} {
			c.send(map[string]any{"action": actAttach, "channel": name})
			e := c.expect(actError)
			if ch, present := e["channel"]; !present || ch != name || errOf(e) != 40010 {
				t.Fatalf("attach %q → %v", name, e)
			}
		}
		c.send(map[string]any{"action": actDetach, "channel": "never-attached"})
		if d := c.expect(actDetached); d["channel"] != "never-attached" {
			t.Fatalf("DETACHED = %v", d)
		}
		c.send(map[string]any{"action": actMessage, "channel": ":bad", "msgSerial": 0, "messages": []any{map[string]any{"data": "x"}}})
		if n := c.expect(actNack); errOf(n) != 40010 || num(n["count"]) != 1 {
			t.Fatalf("NACK = %v", n)
		}
		c.send(map[string]any{"action": actAttach, "channel": "ok"})
		c.expect(actAttached)
		c.send(map[string]any{"action": actAttach, "channel": "ok"}) // every ATTACH gets ATTACHED
		c.expect(actAttached)
		c.send(map[string]any{"action": actClose})
		c.expect(actClosed)
		if _, ok := c.recv(); ok {
			t.Fatal("connection still open after CLOSED")
		}
	})
}

// TestRawMalformedInput: garbage, wrong types, unknown actions and huge
// frames get an ERROR/NACK or a closed connection, and the server lives on.
func TestRawMalformedInput(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		bad := [][]byte{{0xc1}, []byte("{"), {0x91, 0x91}, []byte(`{"action":"x"}`), bytes.Repeat([]byte{0x91}, 5000)}
		for _, b := range bad {
			c := dialRaw(t, s, binary, nil)
			c.expect(actConnected)
			c.sendRaw(b)
			if e := c.expect(actError); errOf(e) != 40000 {
				t.Fatalf("malformed %q → %v", b, e)
			}
		}
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		c.send(map[string]any{"action": 99})
		if e := c.expect(actError); errOf(e) != 40000 {
			t.Fatalf("unknown action → %v", e)
		}
		c = dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		c.send(map[string]any{"action": actMessage, "channel": "big", "msgSerial": 0, "messages": []any{map[string]any{"data": strings.Repeat("x", 70000)}}})
		if n := c.expect(actNack); errOf(n) != 40009 {
			t.Fatalf("oversize publish → %v", n)
		}
		c.send(map[string]any{"action": actMessage, "channel": "big", "msgSerial": 1, "messages": []any{map[string]any{"data": strings.Repeat("x", 600000)}}})
		if n := c.expect(actNack); errOf(n) != 40009 {
			t.Fatalf("oversize frame → %v", n)
		}
		c.send(map[string]any{"action": actPresence, "channel": "big", "msgSerial": 2, "presence": []any{map[string]any{"action": 2}}})
		if n := c.expect(actNack); errOf(n) != 91000 || num(n["msgSerial"]) != 2 {
			t.Fatalf("presence without clientId → %v", n)
		}
		c.send(map[string]any{"action": actPresence, "channel": "big", "msgSerial": 3, "presence": []any{map[string]any{"action": 1, "clientId": "x"}}})
		if n := c.expect(actNack); errOf(n) != 40000 || num(n["msgSerial"]) != 3 {
			t.Fatalf("presence PRESENT from a client → %v", n)
		}
		deep := map[string]any{}
		for i := 0; i < 40; i++ {
			deep = map[string]any{"d": deep}
		}
		c.send(map[string]any{"action": actMessage, "channel": "big", "msgSerial": 4, "messages": []any{map[string]any{"extras": deep}}})
		if n := c.expect(actNack); errOf(n) != 40013 {
			t.Fatalf("deep extras → %v", n)
		}
		c.sendRaw(bytes.Repeat([]byte("x"), readLimit+10))
		if _, ok := c.recv(); ok {
			t.Fatal("frame over the read limit did not close the connection")
		}
		// the server still serves
		c = dialRaw(t, s, binary, nil)
		c.expect(actConnected)
	})
}

// TestRawAuthFailuresInsideWebSocket: the upgrade succeeds and an ERROR
// frame carries the auth error (MUST 2).
func TestRawAuthFailuresInsideWebSocket(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		for q, want := range map[string]int64{"key=" + s.Keys()[0].Name + ":wrong": 40101, "access_token=nonsense": 40101, "": 40101} {
			v, _ := url.ParseQuery(q)
			if q == "" {
				v = url.Values{"access_token": {""}, "key": {""}}
			}
			ws, _, err := websocket.Dial(ctxT(t), "ws://"+s.Addr()+"/?"+v.Encode()+map[bool]string{true: "", false: "&format=json"}[binary], nil)
			if err != nil {
				t.Fatalf("upgrade refused for %q: %v", q, err)
			}
			c := &rawClient{t: t, ws: ws, binary: binary}
			e := c.expect(actError)
			if errOf(e) != want || num(e["error"].(map[string]any)["statusCode"]) != 401 {
				t.Fatalf("%q → %v", q, e)
			}
			if _, ok := c.recv(); ok {
				t.Fatal("connection open after auth ERROR")
			}
		}
	})
}

// TestRawFailedResumeAndOrigin: resume/recover with a well-formed key the
// endpoint never issued gives a new connectionId plus 80018 (invalid, issue
// 14 item 7; 80008 is for expired keys, see TestResumeExpiredKey), as does
// a malformed key; any Origin is accepted.
func TestRawFailedResumeAndOrigin(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		for q, want := range map[string]int64{"resume": 80018, "recover": 80018} {
			c := dialRaw(t, s, binary, url.Values{q: {"abc!def"}})
			m := c.expect(actConnected)
			if errOf(m) != want || m["connectionId"] == "abc" {
				t.Fatalf("%s → %v", q, m)
			}
		}
		c := dialRaw(t, s, binary, url.Values{"resume": {"garbage"}})
		if m := c.expect(actConnected); errOf(m) != 80018 {
			t.Fatalf("malformed resume → %v", m)
		}
		q := url.Values{"key": {s.Keys()[0].String()}}
		ws, _, err := websocket.Dial(ctxT(t), "ws://"+s.Addr()+"/?"+q.Encode(), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://example.test"}}})
		if err != nil {
			t.Fatalf("cross-origin upgrade refused: %v", err)
		}
		(&rawClient{t: t, ws: ws, binary: true}).expect(actConnected)
		_ = ws.CloseNow()
	})
}

// TestRawStrAndBinKeptApart: bytes go out as msgpack bin and strings as str;
// JSON gets base64 with "base64" appended (MUST 1, 10).
func TestRawStrAndBinKeptApart(t *testing.T) {
	s := startServer(t, Options{})
	name := uniq(t, "bin")
	pub := dialRaw(t, s, true, nil)
	pub.expect(actConnected)
	pub.send(map[string]any{"action": actMessage, "channel": name, "msgSerial": 0, "messages": []any{
		map[string]any{"data": []byte{0, 0xff}}, map[string]any{"data": "text", "encoding": "utf-8"},
		map[string]any{"data": "AAE=", "encoding": "json/base64"}, map[string]any{"name": "empty", "data": ""}, map[string]any{"name": "none"}}})
	pub.expect(actAck)
	formats(t, func(t *testing.T, binary bool) {
		c := dialRaw(t, s, binary, nil)
		c.expect(actConnected)
		c.send(map[string]any{"action": actAttach, "channel": name, "params": map[string]string{"rewind": "5", "delta": "vcdiff"}})
		att := c.expect(actAttached)
		if p, _ := att["params"].(map[string]any); len(p) != 1 || p["rewind"] != "5" {
			t.Fatalf("ATTACHED params = %v, want only rewind echoed", att["params"])
		}
		var msgs []map[string]any
		for range 5 {
			m := c.expect(actMessage)
			msgs = append(msgs, m["messages"].([]any)[0].(map[string]any))
		}
		m0, m1, m2 := msgs[0], msgs[1], msgs[2]
		if d, present := msgs[3]["data"]; !present || d != "" {
			t.Fatalf("empty string data → %#v", msgs[3])
		}
		if _, present := msgs[4]["data"]; present {
			t.Fatalf("absent data sent as %#v", msgs[4])
		}
		if binary {
			if b, ok := m0["data"].([]byte); !ok || !bytes.Equal(b, []byte{0, 0xff}) || m0["encoding"] != nil {
				t.Fatalf("bin → %#v", m0)
			}
			if b, ok := m2["data"].([]byte); !ok || !bytes.Equal(b, []byte{0, 1}) || m2["encoding"] != "json" {
				t.Fatalf("json/base64 → %#v", m2)
			}
		} else {
			if m0["data"] != "AP8=" || m0["encoding"] != "base64" || m2["data"] != "AAE=" || m2["encoding"] != "json/base64" {
				t.Fatalf("JSON rendering: %#v %#v", m0, m2)
			}
		}
		if m1["data"] != "text" || m1["encoding"] != "utf-8" {
			t.Fatalf("str → %#v", m1)
		}
	})
}
