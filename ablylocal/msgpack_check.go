package ablylocal

import (
	"errors"
	"fmt"
)

// maxNesting bounds the depth of msgpack structures, so a frame of nested
// arrays cannot exhaust the stack.
const maxNesting = 64

// errMalformed reports a frame that is not well-formed msgpack.
var errMalformed = errors.New("malformed msgpack")

// checkMsgpack walks b without allocating and fails on truncated input,
// trailing bytes, unknown type codes, or nesting deeper than maxNesting, so
// the decoder never sees input that could exhaust the stack or allocate far
// beyond the frame size.
func checkMsgpack(b []byte) error {
	pos := 0
	// stack of remaining item counts per open container
	var stack [maxNesting + 1]int
	depth := 0
	stack[0] = 1
	for {
		for depth >= 0 && stack[depth] == 0 {
			depth--
		}
		if depth < 0 {
			break
		}
		stack[depth]--
		next, items, ok := msgpackHead(b, pos)
		if !ok {
			return errMalformed
		}
		pos = next
		if items > 0 {
			if items > len(b)-pos { // each item needs at least one byte
				return errMalformed
			}
			if depth+1 > maxNesting {
				return fmt.Errorf("msgpack nesting deeper than %d levels", maxNesting)
			}
			depth++
			stack[depth] = items
		}
	}
	if pos != len(b) {
		return fmt.Errorf("%d unexpected bytes after the msgpack value", len(b)-pos)
	}
	return nil
}

// msgpackHead reads the head of the value at b[pos]: next is where the
// value ends, or for a map or array where its first item begins; items is
// how many values the container holds (a map's keys and values counted
// apart). ok is false for an unknown type code or a value cut short.
func msgpackHead(b []byte, pos int) (next, items int, ok bool) {
	need := func(n int) bool { return n >= 0 && pos+n <= len(b) }
	if !need(1) {
		return 0, 0, false
	}
	c := b[pos]
	pos++
	var skip int
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
	case c >= 0x80 && c <= 0x8f:
		items = 2 * int(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		items = int(c & 0x0f)
	case c >= 0xa0 && c <= 0xbf:
		skip = int(c & 0x1f)
	default:
		var n, sz int
		switch c {
		case 0xc4, 0xd9: // bin8, str8
			sz = 1
		case 0xc5, 0xda:
			sz = 2
		case 0xc6, 0xdb:
			sz = 4
		case 0xca:
			skip = 4
		case 0xcb:
			skip = 8
		case 0xcc, 0xd0:
			skip = 1
		case 0xcd, 0xd1:
			skip = 2
		case 0xce, 0xd2:
			skip = 4
		case 0xcf, 0xd3:
			skip = 8
		case 0xd4:
			skip = 2
		case 0xd5:
			skip = 3
		case 0xd6:
			skip = 5
		case 0xd7:
			skip = 9
		case 0xd8:
			skip = 17
		case 0xc7: // ext8/16/32: length, then a type byte
			sz = 1
		case 0xc8, 0xdc, 0xde: // ext16, array16, map16
			sz = 2
		case 0xc9, 0xdd, 0xdf: // ext32, array32, map32
			sz = 4
		default:
			return 0, 0, false
		}
		if sz > 0 {
			if !need(sz) {
				return 0, 0, false
			}
			for i := 0; i < sz; i++ {
				n = n<<8 | int(b[pos+i])
			}
			pos += sz
			switch c {
			case 0xdc, 0xdd:
				items = n
			case 0xde, 0xdf:
				items = 2 * n
			case 0xc7, 0xc8, 0xc9:
				skip = n + 1
			default:
				skip = n
			}
		}
	}
	if !need(skip) {
		return 0, 0, false
	}
	return pos + skip, items, true
}
