package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeySpec(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		secret  string
		cap     string
		wantErr string
	}{
		{in: "app.key:secret", name: "app.key", secret: "secret", cap: `{"*":["*"]}`},
		{in: " app.key:s3cr3t-_ ", name: "app.key", secret: "s3cr3t-_", cap: `{"*":["*"]}`},
		{in: `app.key2:secret2={"allowed:*":["subscribe","publish","history"]}`, name: "app.key2", secret: "secret2", cap: `{"allowed:*":["history","publish","subscribe"]}`},
		{in: "", wantErr: "empty"},
		{in: "app.key", wantErr: `has no ":"`},
		{in: "appkey:secret", wantErr: "appId.keyId"},
		{in: ".key:secret", wantErr: "appId.keyId"},
		{in: "app.:secret", wantErr: "appId.keyId"},
		{in: "a.b.c:secret", wantErr: "appId.keyId"},
		{in: "app.key:", wantErr: "empty secret"},
		{in: `app.key:={"*":["*"]}`, wantErr: "empty secret"},
		{in: "app.key:se:cret", wantErr: "must not contain"},
		{in: `app.key:secret={"*":["fly"]}`, wantErr: `unknown operation "fly"`},
		{in: `app.key:secret={"*":`, wantErr: "capability of key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseKeySpec(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKeySpec(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeySpec(%q): %v", tt.in, err)
			}
			if k.Name != tt.name || k.Secret != tt.secret || k.Capability.String() != tt.cap {
				t.Fatalf("ParseKeySpec(%q) = %q %q %s, want %q %q %s", tt.in, k.Name, k.Secret, k.Capability, tt.name, tt.secret, tt.cap)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if a.Name == b.Name || a.Secret == b.Secret {
		t.Fatalf("two generated keys are equal: %v %v", a, b)
	}
	parsed, err := ParseKeySpec(a.String())
	if err != nil {
		t.Fatalf("generated key %q does not parse: %v", a, err)
	}
	if !strings.HasPrefix(a.Name, "local.") || parsed.Name != a.Name || parsed.Secret != a.Secret {
		t.Fatalf("generated key %q parsed as %+v", a, parsed)
	}
	if got := a.Capability.String(); got != `{"*":["*"]}` {
		t.Fatalf("generated key capability = %s", got)
	}
}

func TestErrorMessage(t *testing.T) {
	var err error = newError(40160, "denied %s", "x")
	var ae *Error
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != 40160 {
		t.Fatalf("newError = %#v", err)
	}
	if got := err.Error(); got != "denied x (code 40160, status 401)" {
		t.Fatalf("Error() = %q", got)
	}
	for code, status := range map[int]int{40000: 400, 40101: 401, 40300: 403, 40400: 404, 50000: 500} {
		if got := newError(code, "m").StatusCode; got != status {
			t.Errorf("status for %d = %d, want %d", code, got, status)
		}
	}
}
