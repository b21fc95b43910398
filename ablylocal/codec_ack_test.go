package ablylocal

import (
	"bytes"
	"fmt"
	"testing"
)

// TestAppendAckMatchesMarshal: the ACK fast path writes exactly the bytes
// the generic encoders write, in both formats, over the range of serials,
// counts and result shapes, including strings needing JSON escapes.
func TestAppendAckMatchesMarshal(t *testing.T) {
	serials := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 31, 1<<32 + 5, -1}
	results := [][]ackResult{
		nil,
		{{Serials: []*string{strp("abc:0")}}},
		{{Serials: []*string{strp("x"), nil, strp(`q"<&>\` + "\u2028\x01é")}}},
		{{Serials: nil}, {Serials: []*string{}}},
		{{Serials: []*string{strp(string(make([]byte, 40))), strp(string(bytes.Repeat([]byte{'s'}, 300)))}}},
	}
	many := make([]*string, 20)
	for i := range many {
		many[i] = strp(fmt.Sprint("conn:", i))
	}
	results = append(results, []ackResult{{Serials: many}})
	for _, serial := range serials {
		for _, count := range []int{0, 1, 200} {
			for _, res := range results {
				fr := &outFrame{Action: actAck, MsgSerial: &serial, Count: count, Res: res}
				if !ackShape(fr) {
					t.Fatalf("%+v is not seen as an ACK", fr)
				}
				for _, f := range []format{formatJSON, formatMsgpack} {
					want, err := marshal(f, fr)
					if err != nil {
						t.Fatal(err)
					}
					got, err := appendAck(f, fr)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s serial %d count %d res %v:\n got %q\nwant %q", f, serial, count, res, got, want)
					}
				}
			}
		}
	}
	// Anything beyond the ACK's fields takes the generic path.
	s := int64(3)
	for _, fr := range []*outFrame{
		{Action: actNack, MsgSerial: &s, Count: 1},
		{Action: actAck, MsgSerial: &s, Count: 1, Error: newErr(50000, 500, "x")},
		{Action: actAck, Count: 1},
		{Action: actAck, MsgSerial: &s, Channel: strp("c")},
	} {
		if ackShape(fr) {
			t.Errorf("%+v taken for a plain ACK", fr)
		}
	}
}
