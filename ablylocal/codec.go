package ablylocal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// format is a wire format: JSON (text frames) or msgpack (binary frames).
type format int

const (
	formatMsgpack format = iota
	formatJSON
)

// String names the format as in the `format` query parameter.
func (f format) String() string {
	if f == formatJSON {
		return "json"
	}
	return "msgpack"
}

// contentType is the HTTP Content-Type of the format (exact, no charset).
func (f format) contentType() string {
	if f == formatJSON {
		return "application/json"
	}
	return "application/x-msgpack"
}

// dataKind says which wire type a message's data arrived as.
type dataKind int

const (
	dataNone dataKind = iota
	dataString
	dataBytes
	dataStructured // a map/array/number/bool, kept as JSON text
)

// rawData is a message's `data` field as received, keeping str apart from bin.
type rawData struct {
	kind dataKind
	str  string
	bin  []byte
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *rawData) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*d = rawData{}
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = rawData{kind: dataString, str: s}
	default:
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			return err
		}
		*d = rawData{kind: dataStructured, str: c.String()}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (d *rawData) DecodeMsgpack(dec *msgpack.Decoder) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case c == msgpcode.Nil:
		*d = rawData{}
		return dec.DecodeNil()
	case msgpcode.IsString(c):
		s, err := dec.DecodeString()
		*d = rawData{kind: dataString, str: s}
		return err
	case msgpcode.IsBin(c):
		b, err := dec.DecodeBytes()
		*d = rawData{kind: dataBytes, bin: b}
		return err
	default:
		v, err := dec.DecodeInterface()
		if err != nil {
			return err
		}
		js, err := json.Marshal(jsonSafe(v))
		if err != nil {
			return fmt.Errorf("data cannot be represented as JSON: %w", err)
		}
		*d = rawData{kind: dataStructured, str: string(js)}
		return nil
	}
}

// rawAny is a free-form value (extras) decoded from either format into
// JSON-compatible Go values.
type rawAny struct{ v any }

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawAny) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	r.v = jsonSafe(v)
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (r *rawAny) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	r.v = jsonSafe(v)
	return nil
}

// jsonSafe converts decoded values into types both encoders handle the same
// way: json.Number → int64/float64, NaN/Inf floats → nil, nested maps and
// slices recursively.
func jsonSafe(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return jsonSafe(f)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil
		}
		return t
	case float32:
		return jsonSafe(float64(t))
	case map[string]any:
		for k, x := range t {
			t[k] = jsonSafe(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = jsonSafe(x)
		}
		return t
	case time.Time: // a msgpack timestamp extension
		return t.UTC().Format(time.RFC3339Nano)
	default:
		return v
	}
}

// maxExtrasDepth bounds how deeply extras may nest (both formats), so every
// stored message re-encodes within the msgpack nesting limit.
const maxExtrasDepth = 32

// depth returns how deeply maps and arrays nest in v.
func depth(v any) int {
	d := 0
	switch t := v.(type) {
	case map[string]any:
		for _, x := range t {
			d = max(d, depth(x))
		}
		return d + 1
	case []any:
		for _, x := range t {
			d = max(d, depth(x))
		}
		return d + 1
	}
	return 0
}

// decodeFrame decodes one inbound ProtocolMessage in the given format.
func decodeFrame(f format, b []byte) (*inFrame, error) {
	var fr inFrame
	if f == formatJSON {
		if err := json.Unmarshal(b, &fr); err != nil {
			return nil, err
		}
		return &fr, nil
	}
	if err := checkMsgpack(b); err != nil {
		return nil, err
	}
	if fast, ok := fastDecodeFrame(b); ok {
		return fast, nil
	}
	if err := msgpack.Unmarshal(b, &fr); err != nil {
		return nil, err
	}
	return &fr, nil
}

// decodeMessages decodes a REST publish body: one Message or an array.
func decodeMessages(f format, b []byte) ([]inMessage, error) {
	if f == formatJSON {
		t := bytes.TrimSpace(b)
		if len(t) > 0 && t[0] == '[' {
			var ms []inMessage
			err := json.Unmarshal(t, &ms)
			return ms, err
		}
		var m inMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, err
		}
		return []inMessage{m}, nil
	}
	if err := checkMsgpack(b); err != nil {
		return nil, err
	}
	if len(b) > 0 && (msgpcode.IsFixedArray(b[0]) || b[0] == msgpcode.Array16 || b[0] == msgpcode.Array32) {
		var ms []inMessage
		err := msgpack.Unmarshal(b, &ms)
		return ms, err
	}
	var m inMessage
	if err := msgpack.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return []inMessage{m}, nil
}

// unmarshal decodes b (one value) in format f into v.
func unmarshal(f format, b []byte, v any) error {
	if f == formatJSON {
		return json.Unmarshal(b, v)
	}
	if err := checkMsgpack(b); err != nil {
		return err
	}
	return msgpack.Unmarshal(b, v)
}

// marshal encodes v in format f.
func marshal(f format, v any) ([]byte, error) {
	if f == formatJSON {
		return json.Marshal(v)
	}
	return msgpack.Marshal(v)
}

// appendEncoding adds a step to an encoding chain.
func appendEncoding(chain, step string) string {
	if chain == "" {
		return step
	}
	return chain + "/" + step
}

// canonicalData converts received data to the stored form (§4.3).
func canonicalData(d rawData, encoding string) (any, string, *errorInfo) {
	switch d.kind {
	case dataNone:
		return nil, encoding, nil
	case dataBytes:
		return d.bin, encoding, nil
	case dataStructured:
		return d.str, appendEncoding(encoding, "json"), nil
	}
	if encoding == "base64" || strings.HasSuffix(encoding, "/base64") {
		b, err := base64.StdEncoding.DecodeString(d.str)
		if err != nil {
			return nil, "", newErr(40013, 400, "message data has encoding \"base64\" but is not valid base64: "+err.Error())
		}
		return b, strings.TrimSuffix(strings.TrimSuffix(encoding, "base64"), "/"), nil
	}
	return d.str, encoding, nil
}

// wireMessage renders a stored message for format f.
func wireMessage(m *message, f format) outMessage {
	o := outMessage{ID: m.ID, Name: m.Name, ClientID: m.ClientID, ConnectionID: m.ConnectionID,
		Encoding: m.Encoding, Extras: m.Extras, Timestamp: m.Timestamp, Serial: m.Serial, Action: m.Action}
	switch d := m.Data.(type) {
	case string:
		o.Data = &wireData{d}
	case []byte:
		if f == formatJSON {
			o.Data = &wireData{base64.StdEncoding.EncodeToString(d)}
			o.Encoding = appendEncoding(m.Encoding, "base64")
		} else {
			o.Data = &wireData{d}
		}
	}
	return o
}

// messageSize is the size Ably counts against maxMessageSize (TM6).
func messageSize(m *message) int {
	n := sizeWithoutExtras(m)
	if m.Extras != nil {
		if b, err := json.Marshal(m.Extras); err == nil {
			n += len(b)
		}
	}
	return n
}

// encodeFrame encodes an outbound frame in format f, rendering its stored
// messages for that format.
func encodeFrame(f format, fr *outFrame) ([]byte, error) {
	if ackShape(fr) {
		return appendAck(f, fr)
	}
	if fr.msgs != nil || fr.pres != nil {
		cp := *fr
		cp.Messages = make([]outMessage, len(fr.msgs))
		for i, m := range fr.msgs {
			cp.Messages[i] = wireMessage(m, f)
		}
		cp.Presence = make([]outMessage, len(fr.pres))
		for i, m := range fr.pres {
			cp.Presence[i] = wireMessage(m, f)
		}
		fr = &cp
	}
	return marshal(f, fr)
}
