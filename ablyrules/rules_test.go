package ablyrules

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestChannel(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule string // "" = accepted
	}{
		{"orders", ""},
		{"orders:1", ""},
		{" leading space", ""}, // Ably accepts it
		{",comma", ""},         // Ably accepts it
		{"a[b]c", ""},
		{strings.Repeat("x", 5000), ""}, // Ably sets no length limit
		{"", "empty"},
		{"[x]y", "'['"},
		{"[?rewind=1]foo", "'['"},
		{":foo", "':'"},
		{"a\nb", "line break"},
		{"a\rb", "line break"},
	} {
		err := Channel(tc.name)
		if tc.rule == "" {
			if err != nil {
				t.Errorf("Channel(%q) = %v, want accepted", tc.name, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != 40010 || !strings.Contains(e.Rule, tc.rule) {
			t.Errorf("Channel(%q) = %v, want 40010 naming %s", tc.name, err, tc.rule)
		}
	}
}

func TestHeaders(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = accepted
	}{
		{`{}`, ""},
		{`{"a":"x","b":1,"c":1.5,"d":true,"e":null}`, ""},
		{`{"a":{"b":1}}`, `header "a" has an object value`},
		{`{"a":[1]}`, `header "a" has an array value`},
		{`[1]`, "must be a JSON object"},
		{`"x"`, "must be a JSON object"},
		{`null`, "must be a JSON object"},
	} {
		err := Headers([]byte(tc.in))
		if tc.want == "" {
			if err != nil {
				t.Errorf("Headers(%s) = %v, want accepted", tc.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != 40032 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Headers(%s) = %v, want 40032 with %q", tc.in, err, tc.want)
		}
	}
}

// FuzzChannel checks Channel against the documented rules stated
// independently, and that the message always names the value.
func FuzzChannel(f *testing.F) {
	for _, s := range []string{"orders", "", "[x]y", ":a", "a\nb", " a", ",a", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		bad := len(name) == 0 || strings.HasPrefix(name, "[") || strings.HasPrefix(name, ":") || strings.ContainsAny(name, "\r\n")
		err := Channel(name)
		if bad != (err != nil) {
			t.Fatalf("Channel(%q) = %v, documented rules say refused=%v", name, err, bad)
		}
	})
}

// FuzzHeaders checks that Headers (the JSON text insert writes) and
// HeaderValues (the decoded extras the endpoint receives) agree on every
// JSON object, and that the rule is "all values are scalars".
func FuzzHeaders(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":{"b":1}}`, `{"a":[]}`, `{"a":null,"b":2e300}`, `[]`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return // not a JSON object: insert refuses it before these rules
		}
		flat := true
		for _, v := range obj {
			if c := strings.TrimSpace(string(v)); c != "" && (c[0] == '{' || c[0] == '[') {
				flat = false
			}
		}
		var decoded any
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatal(err)
		}
		textErr, valErr := Headers(raw), HeaderValues(decoded)
		if (textErr == nil) != (valErr == nil) {
			t.Fatalf("Headers(%s) = %v but HeaderValues = %v", raw, textErr, valErr)
		}
		if flat != (textErr == nil) {
			t.Fatalf("Headers(%s) = %v, want accepted=%v", raw, textErr, flat)
		}
	})
}
