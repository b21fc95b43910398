package fault

import "testing"

func TestRuleMatchesLikeCapabilities(t *testing.T) {
	for _, c := range []struct {
		pattern, channel string
		want             bool
	}{
		{"demo:*", "demo:x", true}, {"demo:*", "demo:x:y", true}, {"demo:*", "demo", false},
		{"demo:*", "other:x", false}, {"", "anything", true}, {"*", "a:b", true},
		{"orders", "orders", true}, {"orders", "orders:1", false}, {"[*]*", "x", true},
	} {
		if got := (Rule{Channel: c.pattern, Code: 40160}).Matches(c.channel); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.channel, got, c.want)
		}
	}
}
