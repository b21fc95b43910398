package ablylocal

import (
	"encoding/json"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeFrame feeds arbitrary bytes to the frame decoder in both
// formats and runs decoded publishes through validation and re-encoding:
// nothing may panic, and a decoded frame must re-encode.
func FuzzDecodeFrame(f *testing.F) {
	seeds := []map[string]any{
		{"action": 15, "channel": "c", "msgSerial": 0, "messages": []any{map[string]any{"name": "n", "data": "d", "extras": map[string]any{"headers": map[string]any{"a": "b"}}}}},
		{"action": 15, "channel": "c", "msgSerial": 1, "messages": []any{map[string]any{"data": []byte{1, 2}, "encoding": "json/base64"}, map[string]any{"data": map[string]any{"k": []any{1, 2.5, nil}}}}},
		{"action": 10, "channel": "c", "channelSerial": nil, "flags": 262144, "params": map[string]string{"rewind": "1"}},
		{"action": 0, "id": "ping"},
		{"action": 17, "auth": map[string]any{"accessToken": "t"}},
	}
	for _, s := range seeds {
		j, _ := json.Marshal(s)
		m, _ := msgpack.Marshal(s)
		f.Add(j, false)
		f.Add(m, true)
	}
	f.Add([]byte{0x91, 0x91, 0x91}, true)
	f.Add([]byte(`{"action":null,"messages":[{"data":"###","encoding":"base64"}]}`), false)
	srv := &Server{instance: "fuzz"}
	srv.opts, _ = Options{}.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		fm := formatJSON
		if binary {
			fm = formatMsgpack
		}
		fr, err := decodeFrame(fm, b)
		if err != nil {
			return
		}
		_ = validateChannelName(fr.channelName())
		msgs, perr := srv.prepareMessages(fr.Messages, "*", false, "conn", "conn:0")
		if perr != nil || len(msgs) == 0 {
			return
		}
		for i, m := range msgs {
			m.Serial = srv.serial(uint64(i))
		}
		out := deliveryFrame("c", "conn", "conn:0", msgs)
		for _, of := range []format{formatJSON, formatMsgpack} {
			enc, err := encodeFrame(of, out)
			if err != nil {
				t.Fatalf("decoded frame does not re-encode as %v: %v", of, err)
			}
			if _, err := decodeFrame(of, enc); err != nil {
				t.Fatalf("re-encoded frame does not decode as %v: %v", of, err)
			}
		}
	})
}
