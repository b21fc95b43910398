package ablylocal

import (
	"encoding/json"
	"strconv"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// ACK frames are the endpoint's most frequent outbound frame: one per
// publish. The generic encoders reflect over outFrame's 17 fields for the
// four an ACK has (6% of the endpoint's CPU in a drain), so appendAck
// writes those frames directly. It produces the same bytes as marshal
// (TestAppendAckMatchesMarshal); any other frame shape takes the generic
// path.

// ackShape reports whether fr is an ACK with only action, msgSerial,
// count and res (each entry's serials) set.
func ackShape(fr *outFrame) bool {
	return fr.Action == actAck && fr.MsgSerial != nil && fr.ID == "" && fr.Channel == nil && fr.ChannelSerial == "" &&
		fr.ConnectionID == "" && fr.ConnectionKey == "" && fr.ConnectionDetails == nil && fr.Flags == 0 &&
		fr.Timestamp == 0 && fr.Error == nil && fr.Params == nil && fr.Messages == nil && fr.Presence == nil &&
		fr.msgs == nil && fr.pres == nil
}

// appendAck encodes an ACK frame (ackShape) in format f.
func appendAck(f format, fr *outFrame) ([]byte, error) {
	if f == formatJSON {
		return appendAckJSON(make([]byte, 0, 64), fr)
	}
	return appendAckMsgpack(make([]byte, 0, 48), fr), nil
}

func appendAckJSON(b []byte, fr *outFrame) ([]byte, error) {
	b = append(b, `{"action":`...)
	b = strconv.AppendInt(b, int64(fr.Action), 10)
	b = append(b, `,"msgSerial":`...)
	b = strconv.AppendInt(b, *fr.MsgSerial, 10)
	if fr.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(fr.Count), 10)
	}
	if len(fr.Res) > 0 {
		b = append(b, `,"res":[`...)
		for i, r := range fr.Res {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"serials":`...)
			if r.Serials == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, s := range r.Serials {
					if j > 0 {
						b = append(b, ',')
					}
					if s == nil {
						b = append(b, "null"...)
						continue
					}
					q, err := json.Marshal(*s) // the same escaping as the generic encoder
					if err != nil {
						return nil, err
					}
					b = append(b, q...)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendAckMsgpack(b []byte, fr *outFrame) []byte {
	n := 2
	if fr.Count != 0 {
		n++
	}
	if len(fr.Res) > 0 {
		n++
	}
	b = append(b, msgpcode.FixedMapLow|byte(n))
	b = appendMsgpackString(b, "action")
	b = appendMsgpackInt(b, int64(fr.Action))
	b = appendMsgpackString(b, "msgSerial")
	b = appendMsgpackInt64(b, *fr.MsgSerial) // an int64 field: the encoder writes all 8 bytes
	if fr.Count != 0 {
		b = appendMsgpackString(b, "count")
		b = appendMsgpackInt(b, int64(fr.Count))
	}
	if len(fr.Res) > 0 {
		b = appendMsgpackString(b, "res")
		b = appendMsgpackArrayLen(b, len(fr.Res))
		for _, r := range fr.Res {
			b = append(b, msgpcode.FixedMapLow|1)
			b = appendMsgpackString(b, "serials")
			if r.Serials == nil {
				b = append(b, msgpcode.Nil)
				continue
			}
			b = appendMsgpackArrayLen(b, len(r.Serials))
			for _, s := range r.Serials {
				if s == nil {
					b = append(b, msgpcode.Nil)
				} else {
					b = appendMsgpackString(b, *s)
				}
			}
		}
	}
	return b
}

// appendMsgpackString appends s as a msgpack str.
func appendMsgpackString(b []byte, s string) []byte {
	switch l := len(s); {
	case l < 32:
		b = append(b, msgpcode.FixedStrLow|byte(l))
	case l < 1<<8:
		b = append(b, msgpcode.Str8, byte(l))
	case l < 1<<16:
		b = append(b, msgpcode.Str16, byte(l>>8), byte(l))
	default:
		b = append(b, msgpcode.Str32, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
	return append(b, s...)
}

// appendMsgpackArrayLen appends an array header of n elements.
func appendMsgpackArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, msgpcode.FixedArrayLow|byte(n))
	case n < 1<<16:
		return append(b, msgpcode.Array16, byte(n>>8), byte(n))
	}
	return append(b, msgpcode.Array32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendMsgpackInt appends n in the smallest form, as the encoder writes
// an int field.
func appendMsgpackInt(b []byte, n int64) []byte {
	switch {
	case n >= 0 && n <= 127, n < 0 && n >= -32:
		return append(b, byte(n))
	case n > 0 && n <= 0xff:
		return append(b, msgpcode.Uint8, byte(n))
	case n > 0 && n <= 0xffff:
		return append(b, msgpcode.Uint16, byte(n>>8), byte(n))
	case n > 0 && n <= 0xffffffff:
		return append(b, msgpcode.Uint32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	case n > 0:
		return append(b, msgpcode.Uint64, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	case n >= -128:
		return append(b, msgpcode.Int8, byte(n))
	case n >= -32768:
		return append(b, msgpcode.Int16, byte(n>>8), byte(n))
	case n >= -2147483648:
		return append(b, msgpcode.Int32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return appendMsgpackInt64(b, n)
}

// appendMsgpackInt64 appends n as a full int64, as the encoder writes an
// int64 field.
func appendMsgpackInt64(b []byte, n int64) []byte {
	u := uint64(n)
	return append(b, msgpcode.Int64, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32), byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}
