package monitor

import (
	"encoding/json"
	"testing"

	"github.com/ably/ably-go/ably"
)

func TestDecodeData(t *testing.T) {
	cases := []struct {
		data any
		enc  string
		want string
	}{
		{`{"a":1}`, "json", `{"a":1}`},
		{"eyJhIjoxfQ==", "json/base64", `{"a":1}`},
		{"aGk=", "utf-8/base64", `"hi"`},
		{"aGk=", "base64", `"aGk="`}, // []byte marshals as base64 again
		{"plain", "", `"plain"`},
	}
	for _, c := range cases {
		got, errText := decodeData(c.data, c.enc)
		b, _ := json.Marshal(got)
		if string(b) != c.want || errText != "" {
			t.Errorf("decode(%v, %q) = %s (%s); want %s", c.data, c.enc, b, errText, c.want)
		}
	}
	if _, errText := decodeData("x", "cipher+aes-128-cbc"); errText == "" {
		t.Error("an unsupported encoding was not reported")
	}
	if _, errText := decodeData("{", "json"); errText == "" {
		t.Error("invalid JSON was not reported")
	}
}

func TestTailBufferDropsOldest(t *testing.T) {
	tl := &Tail{out: make(chan TailMessage, 2), chans: map[string]bool{}}
	for _, id := range []string{"1", "2", "3", "4"} {
		tl.push("c", &ably.Message{ID: id})
	}
	if tl.Dropped() != 2 {
		t.Fatalf("dropped %d; want 2", tl.Dropped())
	}
	if a, b := <-tl.Messages(), <-tl.Messages(); a.ID != "3" || b.ID != "4" {
		t.Fatalf("kept %s, %s; want the newest 3, 4", a.ID, b.ID)
	}
}
