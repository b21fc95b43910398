package ablylocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// wireParams is the `params` field of an inbound ProtocolMessage. Params are
// strings on the wire for most clients, but some send numbers or booleans
// (`{params: {rewind: 1}}` in ably-js): every scalar is accepted and kept in
// its text form, as Ably does. A null value is dropped.
type wireParams map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (p *wireParams) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*p = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("params must be an object of strings: %w", err)
	}
	return p.fill(raw)
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (p *wireParams) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	if v == nil {
		*p = nil
		return nil
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("params must be a map of strings, not %T", v)
	}
	return p.fill(raw)
}

// fill converts decoded scalar values to their text form.
func (p *wireParams) fill(raw map[string]any) error {
	out := make(wireParams, len(raw))
	for k, v := range raw {
		s, ok := paramText(v)
		if !ok {
			return fmt.Errorf("param %q must be a string, number or boolean, not %T", k, v)
		}
		if v != nil {
			out[k] = s
		}
	}
	*p = out
	return nil
}

// paramText renders one param value as text; ok=false for maps and arrays.
func paramText(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", true
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(t), true
	case float32:
		return strconv.FormatFloat(float64(t), 'f', -1, 32), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}
