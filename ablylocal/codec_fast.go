package ablylocal

import (
	"encoding/binary"

	"github.com/vmihailenco/msgpack/v5"
)

// The fast msgpack frame decoder. Nearly every inbound frame in a busy
// sandbox is a publish from ably-go or ably-js: a map of a few scalars and
// messages whose fields are strings, with string or binary data and extras
// of string-keyed maps. decodeFrame used to decode all of them through the
// reflecting decoder (17% of the endpoint's CPU in a connector drain); the
// fast decoder below handles exactly that shape by hand and gives up (ok =
// false) on anything else: presence, params, auth, structured data, a
// message action or timestamp, binary strings, floats, arrays as structs,
// duplicate keys. decodeFrame then decodes the frame the reflecting way, so
// every frame decodes to the same inFrame either way (FuzzFastDecodeFrame
// compares the two).

// mpReader reads msgpack values from a buffer checkMsgpack has accepted.
// Every read still checks its bounds: ok = false instead of a panic.
type mpReader struct {
	b []byte
	p int
}

// next returns the next byte.
func (r *mpReader) next() (byte, bool) {
	if r.p >= len(r.b) {
		return 0, false
	}
	c := r.b[r.p]
	r.p++
	return c, true
}

// take returns the next n bytes.
func (r *mpReader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.b)-r.p {
		return nil, false
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s, true
}

// uintN reads an n-byte big-endian unsigned integer (n = 1, 2, 4 or 8).
func (r *mpReader) uintN(n int) (uint64, bool) {
	s, ok := r.take(n)
	if !ok {
		return 0, false
	}
	switch n {
	case 1:
		return uint64(s[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), true
	}
	return binary.BigEndian.Uint64(s), true
}

// length reads a container or string header: kind is 'm' (map), 'a'
// (array), 's' (str), 'b' (bin) or 'n' (nil); n is its item or byte count.
func (r *mpReader) length() (kind byte, n int, ok bool) {
	c, ok := r.next()
	if !ok {
		return 0, 0, false
	}
	var size int
	switch {
	case c >= 0x80 && c <= 0x8f:
		return 'm', int(c & 0x0f), true
	case c >= 0x90 && c <= 0x9f:
		return 'a', int(c & 0x0f), true
	case c >= 0xa0 && c <= 0xbf:
		return 's', int(c & 0x1f), true
	case c == 0xc0:
		return 'n', 0, true
	case c == 0xd9 || c == 0xc4:
		size = 1
	case c == 0xda || c == 0xc5 || c == 0xdc || c == 0xde:
		size = 2
	case c == 0xdb || c == 0xc6 || c == 0xdd || c == 0xdf:
		size = 4
	default:
		return 0, 0, false
	}
	u, ok := r.uintN(size)
	if !ok || u > uint64(len(r.b)) {
		return 0, 0, false
	}
	switch c {
	case 0xd9, 0xda, 0xdb:
		kind = 's'
	case 0xc4, 0xc5, 0xc6:
		kind = 'b'
	case 0xdc, 0xdd:
		kind = 'a'
	default:
		kind = 'm'
	}
	return kind, int(u), true
}

// str reads a str or nil (as "", like the reflecting decoder).
func (r *mpReader) str() (string, bool) {
	s, ok := r.key()
	return string(s), ok
}

// key reads a map key (a str, or nil as the empty key) without copying it.
func (r *mpReader) key() ([]byte, bool) {
	kind, n, ok := r.length()
	switch {
	case !ok:
		return nil, false
	case kind == 'n':
		return nil, true
	case kind != 's':
		return nil, false
	}
	return r.take(n)
}

// int reads an integer or nil (as 0), converted as the reflecting decoder
// converts it.
func (r *mpReader) int() (int64, bool) {
	c, ok := r.next()
	switch {
	case !ok:
		return 0, false
	case c <= 0x7f || c >= 0xe0:
		return int64(int8(c)), true
	case c == 0xc0:
		return 0, true
	}
	var n int
	switch c {
	case 0xcc, 0xd0:
		n = 1
	case 0xcd, 0xd1:
		n = 2
	case 0xce, 0xd2:
		n = 4
	case 0xcf, 0xd3:
		n = 8
	default:
		return 0, false
	}
	u, ok := r.uintN(n)
	if !ok {
		return 0, false
	}
	switch c {
	case 0xd0:
		return int64(int8(u)), true
	case 0xd1:
		return int64(int16(u)), true
	case 0xd2:
		return int64(int32(u)), true
	}
	return int64(u), true
}

// skip moves past one value of any type.
func (r *mpReader) skip(depth int) bool {
	if depth > maxNesting {
		return false
	}
	next, items, ok := msgpackHead(r.b, r.p)
	if !ok {
		return false
	}
	r.p = next
	for i := 0; i < items; i++ {
		if !r.skip(depth + 1) {
			return false
		}
	}
	return true
}

// fastDecodeFrame decodes a frame of the common shape (see above); ok is
// false for anything else, and then nothing it returns is used.
func fastDecodeFrame(b []byte) (*inFrame, bool) {
	r := mpReader{b: b}
	kind, n, ok := r.length()
	if !ok || kind != 'm' {
		return nil, false
	}
	var f inFrame
	var seen uint8
	for i := 0; i < n; i++ {
		key, ok := r.key()
		if !ok {
			return nil, false
		}
		var bit uint8
		switch string(key) {
		case "action":
			bit = 1
			var a int64
			a, ok = r.int()
			f.Action = int(a)
		case "id":
			bit = 2
			f.ID, ok = r.str()
		case "channel":
			bit = 4
			if r.p < len(b) && b[r.p] == 0xc0 {
				r.p++
				f.Channel = nil
				break
			}
			var s string
			s, ok = r.str()
			f.Channel = &s
		case "channelSerial":
			bit = 8
			f.ChannelSerial, ok = r.str()
		case "msgSerial":
			bit = 16
			f.MsgSerial, ok = r.int()
		case "flags":
			bit = 32
			f.Flags, ok = r.int()
		case "messages":
			bit = 64
			f.Messages, ok = r.messages()
		case "presence", "params", "auth":
			return nil, false
		default:
			ok = r.skip(0) // the reflecting decoder skips unknown fields too
		}
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
	}
	return &f, r.p == len(b)
}

// messages reads a frame's messages: nil, or an array of maps.
func (r *mpReader) messages() ([]inMessage, bool) {
	kind, n, ok := r.length()
	switch {
	case !ok:
		return nil, false
	case kind == 'n':
		return nil, true
	case kind != 'a' || n > len(r.b):
		return nil, false
	}
	ms := make([]inMessage, n)
	for i := range ms {
		if !r.message(&ms[i]) {
			return nil, false
		}
	}
	return ms, true
}

// message reads one message map.
func (r *mpReader) message(m *inMessage) bool {
	kind, n, ok := r.length()
	if !ok || kind != 'm' {
		return false
	}
	var seen uint8
	for i := 0; i < n; i++ {
		key, ok := r.key()
		if !ok {
			return false
		}
		var bit uint8
		switch string(key) {
		case "id":
			bit = 1
			m.ID, ok = r.str()
		case "name":
			bit = 2
			m.Name, ok = r.str()
		case "clientId":
			bit = 4
			m.ClientID, ok = r.str()
		case "connectionId":
			bit = 8
			m.ConnectionID, ok = r.str()
		case "connectionKey":
			bit = 16
			m.ConnectionKey, ok = r.str()
		case "encoding":
			bit = 32
			m.Encoding, ok = r.str()
		case "data":
			bit = 64
			m.Data, ok = r.data()
		case "extras":
			bit = 128
			m.Extras.v, ok = r.extras()
		case "action", "timestamp":
			return false
		default:
			ok = r.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}

// data reads a message's data when it is nil, a str or a bin.
func (r *mpReader) data() (rawData, bool) {
	kind, n, ok := r.length()
	if !ok {
		return rawData{}, false
	}
	switch kind {
	case 'n':
		return rawData{}, true
	case 's':
		s, ok := r.take(n)
		return rawData{kind: dataString, str: string(s)}, ok
	case 'b':
		s, ok := r.take(n)
		return rawData{kind: dataBytes, bin: append([]byte{}, s...)}, ok && n > 0
	}
	return rawData{}, false
}

// extras reads a message's extras: string-keyed maps of strings and such
// maps are read by hand, anything else by the reflecting decoder's
// DecodeInterface (as rawAny.DecodeMsgpack does), so the values are the
// same Go types either way.
func (r *mpReader) extras() (any, bool) {
	start := r.p
	if v, ok := r.stringMap(0); ok {
		return v, true
	}
	r.p = start
	if !r.skip(0) {
		return nil, false
	}
	var v rawAny
	if err := msgpack.Unmarshal(r.b[start:r.p], &v); err != nil {
		return nil, false
	}
	return v.v, true
}

// stringMap reads a map whose keys are strs and whose values are strs or
// such maps (two levels at most), as DecodeInterface would return it; nil
// decodes as nil.
func (r *mpReader) stringMap(depth int) (any, bool) {
	kind, n, ok := r.length()
	switch {
	case !ok:
		return nil, false
	case kind == 'n' && depth == 0:
		return nil, true
	case kind != 'm' || n > len(r.b):
		return nil, false
	}
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, ok := r.str()
		if !ok || r.p >= len(r.b) {
			return nil, false
		}
		if c := r.b[r.p]; c&0xf0 == 0x80 || c == 0xde || c == 0xdf {
			if depth > 0 {
				return nil, false
			}
			v, ok := r.stringMap(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v
			continue
		}
		kind, sn, ok := r.length()
		if !ok || kind != 's' {
			return nil, false
		}
		s, ok := r.take(sn)
		if !ok {
			return nil, false
		}
		m[k] = string(s)
	}
	return m, true
}
