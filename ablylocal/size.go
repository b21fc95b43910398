package ablylocal

import "math"

// Sizing a publish. Ably counts name + clientId + data + extras (as JSON)
// against maxMessageSize; rendering extras as JSON for every message took
// 5% of the endpoint's CPU in a drain, while nearly every publish is far
// below the limit. So prepareMessages first adds up messageSizeBound, which
// never undercounts (TestSizeBoundNeverUndercounts), and renders extras only
// when that bound reaches the limit; the exact size decides then, and is
// the one an error reports.

// messageSizeBound is at least messageSize(m), computed without
// allocating.
func messageSizeBound(m *message) int {
	n := sizeWithoutExtras(m)
	if m.Extras != nil {
		n += jsonLenBound(m.Extras)
	}
	return n
}

// sizeWithoutExtras is name + clientId + data, as Ably counts them.
func sizeWithoutExtras(m *message) int {
	n := len(m.Name) + len(m.ClientID)
	switch d := m.Data.(type) {
	case string:
		n += len(d)
	case []byte:
		n += len(d)
	}
	return n
}

// jsonLenBound is at least the length of v as encoding/json writes it, for
// the values decoded extras hold; any other type counts as unbounded.
func jsonLenBound(v any) int {
	switch x := v.(type) {
	case nil:
		return 4
	case bool:
		return 5
	case string:
		return 2 + 6*len(x) // worst case: every byte escaped as \u00XX
	case []byte:
		return 2 + 4*((len(x)+2)/3) // base64
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return 20
	case float32, float64:
		return 32 // shortest 'f' below 1e21 or 'e' form: at most 25
	case map[string]any:
		n := 2
		for k, e := range x {
			n = addBound(n, jsonLenBound(k)+2) // colon, comma
			n = addBound(n, jsonLenBound(e))
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			n = addBound(n, jsonLenBound(e)+1)
		}
		return n
	}
	return math.MaxInt32
}

// addBound adds without overflowing: bounds saturate at MaxInt32.
func addBound(a, b int) int {
	if a >= math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}
