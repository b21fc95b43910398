package ablylocal

import (
	"testing"
)

// benchFrame is the connector's typical publish: a MESSAGE (15) frame with
// one message carrying a row's JSON data and the connector's headers.
func benchFrame() map[string]any {
	return map[string]any{
		"action": 15, "channel": "orders:42", "msgSerial": 1234,
		"messages": []any{map[string]any{
			"id": "987654", "name": "order.updated", "encoding": "json",
			"data":   `{"i":987654,"status":"shipped","amount":1234,"note":"lorem ipsum dolor sit amet consectetur"}`,
			"extras": map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m-987654", "x-bench": "1"}},
		}},
	}
}

// BenchmarkDecodeFrame decodes one inbound publish frame.
// Run: go test -run '^$' -bench 'Frame' -count 10 ./ablylocal/ | benchstat -
func BenchmarkDecodeFrame(b *testing.B) {
	for _, f := range []format{formatJSON, formatMsgpack} {
		raw, err := marshal(f, benchFrame())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				fr, err := decodeFrame(f, raw)
				if err != nil || len(fr.Messages) != 1 {
					b.Fatalf("decode: %v", err)
				}
			}
		})
	}
}

// BenchmarkEncodeFrame encodes one outbound MESSAGE frame holding one
// stored message, as delivered to each subscriber.
func BenchmarkEncodeFrame(b *testing.B) {
	m := &message{ID: "987654", Name: "order.updated", ConnectionID: "conn-1", Encoding: "json",
		Data:      `{"i":987654,"status":"shipped","amount":1234,"note":"lorem ipsum dolor sit amet consectetur"}`,
		Extras:    map[string]any{"headers": map[string]any{"x-ably-models-event-uuid": "m-987654", "x-bench": "1"}},
		Timestamp: 1764700000000, Serial: "01764700000000-000@srv:0"}
	for _, f := range []format{formatJSON, formatMsgpack} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			fr := &outFrame{Action: 15, Channel: strp("orders:42"), ChannelSerial: "srv:1", msgs: []*message{m}}
			for b.Loop() {
				out, err := encodeFrame(f, fr)
				if err != nil || len(out) == 0 {
					b.Fatalf("encode: %v", err)
				}
			}
		})
	}
}

// BenchmarkEncodeAck encodes one ACK frame, as sent for every publish;
// generic is the reflecting encoder the fast path replaces.
func BenchmarkEncodeAck(b *testing.B) {
	serial := int64(123456)
	fr := &outFrame{Action: actAck, MsgSerial: &serial, Count: 1, Res: []ackResult{{Serials: []*string{strp("a1b2c3d4:123456:0")}}}}
	for _, f := range []format{formatJSON, formatMsgpack} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeFrame(f, fr); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.String()+"/generic", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := marshal(f, fr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
