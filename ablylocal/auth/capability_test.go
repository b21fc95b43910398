package auth

import (
	"strings"
	"testing"
)

func TestParseCapability(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: `{"*":["*"]}`, want: `{"*":["*"]}`},
		{in: `{"b":["subscribe","publish","publish"],"a":["history"]}`, want: `{"a":["history"],"b":["publish","subscribe"]}`},
		{in: `{"[*]*":["*"]}`, want: `{"[*]*":["*"]}`},
		{in: `{"a<b>&":["stats"]}`, want: `{"a<b>&":["stats"]}`},
		{in: `{"x":["privileged-headers","message-delete-any","object-publish","annotation-subscribe","push-admin","channel-metadata"]}`,
			want: `{"x":["annotation-subscribe","channel-metadata","message-delete-any","object-publish","privileged-headers","push-admin"]}`},
		{in: `not json`, wantErr: "invalid capability"},
		{in: `["*"]`, wantErr: "invalid capability"},
		{in: `{"*":"*"}`, wantErr: "invalid capability"},
		{in: `{"*":["*"]} x`, wantErr: "trailing data"},
		{in: `{}`, wantErr: "no resources"},
		{in: `{"":["publish"]}`, wantErr: "empty resource"},
		{in: `{"[queue":["publish"]}`, wantErr: "unclosed qualifier"},
		{in: `{"a":[]}`, wantErr: "no operations"},
		{in: `{"a":["publish","fly"]}`, wantErr: `unknown operation "fly"`},
		{in: `{"a":["*","publish"]}`, wantErr: `mixes "*"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseCapability(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Code != 40000 || err.StatusCode != 400 || !strings.Contains(err.Message, tt.wantErr) {
					t.Fatalf("ParseCapability(%s) error = %v, want 40000/400 containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCapability(%s): %v", tt.in, err)
			}
			if got := c.String(); got != tt.want {
				t.Fatalf("String() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMatchResource(t *testing.T) {
	tests := []struct {
		res, channel string
		want         bool
	}{
		{"*", "a", true},
		{"*", "a:b:c", true},
		{"[*]*", "a:b", true},
		{"[*]chat", "chat", true},
		{"[queue]*", "a", false},
		{"[meta]*", "a", false},
		{"[queue]a", "a", false},
		{"ns:*", "ns:a", true},
		{"ns:*", "ns:a:b", true},
		{"ns:*", "ns", false},
		{"ns:*", "other:a", false},
		{"a:*:c", "a:b:c", true},
		{"a:*:c", "a:b:d:c", false},
		{"a:*:c", "a:b", false},
		{"foo*", "foo*", true},
		{"foo*", "foobar", false},
		{"chat", "chat", true},
		{"chat", "Chat", false},
		{"chat", "chat:x", false},
		{"*:x", "a:x", true},
		{"*:x", "x", false},
	}
	for _, tt := range tests {
		if got := matchResource(tt.res, tt.channel); got != tt.want {
			t.Errorf("matchResource(%q, %q) = %v, want %v", tt.res, tt.channel, got, tt.want)
		}
	}
}

func TestOpsAndAllows(t *testing.T) {
	c := Capability{
		"chat:*":  {"publish"},
		"chat:a":  {"subscribe"},
		"[*]logs": {"*"},
		"*":       {"history"},
	}
	tests := []struct {
		channel, op string
		want        bool
	}{
		{"chat:a", "publish", true},
		{"chat:a", "subscribe", true},
		{"chat:a", "history", true},
		{"chat:b", "subscribe", false},
		{"chat", "publish", false},
		{"logs", "object-publish", true},
		{"logs", "privileged-headers", true},
		{"other", "history", true},
		{"other", "publish", false},
	}
	for _, tt := range tests {
		if got := c.Allows(tt.channel, tt.op); got != tt.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tt.channel, tt.op, got, tt.want)
		}
	}
	ops := c.Ops("logs")
	if len(ops) != len(Operations) || ops["*"] {
		t.Errorf(`Ops("logs") = %v, want every operation except "*"`, ops)
	}
	if got := c.Ops("nothing:here"); len(got) != 1 || !got["history"] {
		t.Errorf(`Ops("nothing:here") = %v, want only history`, got)
	}
}

func TestAllowsAnyChannel(t *testing.T) {
	tests := []struct {
		c    Capability
		op   string
		want bool
	}{
		{Capability{"*": {"*"}}, "stats", true},
		{Capability{"[*]*": {"stats"}}, "stats", true},
		{Capability{"*": {"publish"}}, "stats", false},
		{Capability{"ns:*": {"stats"}}, "stats", false},
		{Capability{"[queue]*": {"stats"}}, "stats", false},
		{Capability{"stats": {"stats"}}, "stats", false},
	}
	for _, tt := range tests {
		if got := tt.c.AllowsAnyChannel(tt.op); got != tt.want {
			t.Errorf("%s.AllowsAnyChannel(%q) = %v, want %v", tt.c, tt.op, got, tt.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	tests := []struct {
		name, requested, key, want string
	}{
		{"all vs all", `{"*":["*"]}`, `{"*":["*"]}`, `{"*":["*"]}`},
		{"narrow request", `{"chat":["publish"]}`, `{"*":["*"]}`, `{"chat":["publish"]}`},
		{"wide request", `{"*":["*"]}`, `{"allowed:*":["history","publish","subscribe"]}`, `{"allowed:*":["history","publish","subscribe"]}`},
		{"ops intersect", `{"allowed:x":["presence","publish"]}`, `{"allowed:*":["publish","subscribe"]}`, `{"allowed:x":["publish"]}`},
		{"disjoint ops", `{"allowed:x":["presence"]}`, `{"allowed:*":["publish"]}`, `{}`},
		{"disjoint resources", `{"denied":["publish"]}`, `{"allowed:*":["publish"]}`, `{}`},
		{"ns needs a segment", `{"allowed":["publish"]}`, `{"allowed:*":["publish"]}`, `{}`},
		{"deeper tail", `{"a:b:*":["subscribe"]}`, `{"a:*":["*"]}`, `{"a:b:*":["subscribe"]}`},
		{"single wildcards cross", `{"a:*":["publish"]}`, `{"*:b":["publish"]}`, `{"a:b":["publish"]}`},
		{"middle wildcard vs tail", `{"a:*:c":["publish"]}`, `{"a:*":["publish"]}`, `{"a:*:c":["publish"]}`},
		{"length mismatch", `{"a:*:c":["publish"]}`, `{"a:b":["publish"]}`, `{}`},
		{"[*] qualifier vs plain", `{"[*]*":["*"]}`, `{"chat:*":["publish"]}`, `{"chat:*":["publish"]}`},
		{"plain vs [*] key", `{"x":["publish"]}`, `{"[*]*":["*"]}`, `{"x":["publish"]}`},
		{"queue vs plain", `{"[queue]x":["publish"]}`, `{"*":["*"]}`, `{}`},
		{"queue vs [*]", `{"[queue]x":["publish"]}`, `{"[*]*":["*"]}`, `{"[queue]x":["publish"]}`},
		{"union of pairs", `{"a":["publish"],"*":["subscribe"]}`, `{"*":["*"]}`, `{"*":["subscribe"],"a":["publish"]}`},
		{"merge into one resource", `{"a":["publish"]}`, `{"a":["publish"],"*":["subscribe","publish"]}`, `{"a":["publish"]}`},
		{"literal star suffix", `{"foo*":["publish"]}`, `{"foo":["*"]}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustCap(t, tt.requested)
			key := mustCap(t, tt.key)
			if got := Intersect(req, key).String(); got != tt.want {
				t.Fatalf("Intersect(%s, %s) = %s, want %s", tt.requested, tt.key, got, tt.want)
			}
		})
	}
}

// mustCap parses a capability or fails the test.
func mustCap(t *testing.T, js string) Capability {
	t.Helper()
	c, err := ParseCapability(js)
	if err != nil {
		t.Fatalf("ParseCapability(%s): %v", js, err)
	}
	return c
}
