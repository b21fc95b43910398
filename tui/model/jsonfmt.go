package model

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// PrettyJSON renders raw JSON indented by two spaces with object keys sorted
// and every number kept exactly as written (json.Number). Invalid JSON is
// returned as it is.
func PrettyJSON(raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "null"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	var b strings.Builder
	writeValue(&b, v, "")
	return b.String()
}

// PrettyValue renders an already decoded value (as a tail message carries
// it) the way PrettyJSON does: json.RawMessage and []byte holding JSON are
// formatted, strings are quoted.
func PrettyValue(v any) string {
	switch x := v.(type) {
	case json.RawMessage:
		return PrettyJSON(x)
	case nil:
		return "null"
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "<unprintable>"
	}
	return PrettyJSON(raw)
}

// writeValue writes v indented at indent. Maps come from encoding/json, so
// sorting their keys gives the stable order.
func writeValue(b *strings.Builder, v any, indent string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			b.WriteString(indent + "  ")
			writeString(b, k)
			b.WriteString(": ")
			writeValue(b, x[k], indent+"  ")
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			writeValue(b, e, indent+"  ")
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case json.Number:
		b.WriteString(x.String())
	case string:
		writeString(b, x)
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	}
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(b *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// CompactJSON renders raw JSON on one line (for table previews), keeping
// numbers and key order as written; invalid JSON is returned as it is.
func CompactJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
