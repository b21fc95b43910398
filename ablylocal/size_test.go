package ablylocal

import (
	"strings"
	"testing"
)

// TestSizeBoundNeverUndercounts: messageSizeBound is at least messageSize
// for every kind of value decoded extras hold, including strings that
// JSON escapes, so a publish under the bound is under the limit.
func TestSizeBoundNeverUndercounts(t *testing.T) {
	values := []any{nil, true, false, "", "plain", `<&>"\` + "\x00\x1f\u2028\u2029é\xff", []byte{}, []byte("bytes!"),
		int8(-128), int64(-1 << 63), uint64(1<<64 - 1), 3.5, -1.2345678901234567e-308, 1.2345678901234568e20, 1e21,
		float32(1e-7), []any{}, []any{1.0, "x", nil, []any{map[string]any{"k": "v"}}}, map[string]any{}}
	for i, v := range values {
		for _, extras := range []map[string]any{
			{"headers": map[string]any{"x-ably-models-event-uuid": "m-1", "n": v}},
			{"v": v, strings.Repeat("<", 10): []any{v, v}},
		} {
			m := &message{Name: "n", ClientID: "c", Data: "data", Extras: extras}
			if b, exact := messageSizeBound(m), messageSize(m); b < exact {
				t.Errorf("value %d (%#v): bound %d < size %d", i, v, b, exact)
			}
		}
	}
	// A type extras never hold counts as unbounded, so the exact size decides.
	if b := jsonLenBound(struct{}{}); b < maxMessageSize {
		t.Errorf("unknown type bound %d, want at least the limit", b)
	}
}

// TestPublishSizeExactNearTheLimit: a publish whose bound passes the limit
// but whose extras are plain text well under it is accepted; one really
// over it gets 40009 with its exact size.
func TestPublishSizeExactNearTheLimit(t *testing.T) {
	s := &Server{}
	in := func(extra int) []inMessage {
		return []inMessage{{Name: "n", Extras: rawAny{v: map[string]any{"note": strings.Repeat("a", extra)}}}}
	}
	if _, err := s.prepareMessages(in(20000), "", false, "conn", "conn:0"); err != nil {
		t.Fatalf("20,000 plain bytes of extras (bound ~120,000): %v", err)
	}
	_, err := s.prepareMessages(in(70000), "", false, "conn", "conn:1")
	want := "message size 70012 bytes" // n + {"note":"…"}
	if err == nil || err.Code != 40009 || !strings.Contains(err.Message, want) {
		t.Fatalf("70,000 bytes of extras: %v, want 40009 saying %q", err, want)
	}
}
