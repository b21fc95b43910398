package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.UnixMilli(1735689600000)

// testAuthority returns an Authority with an all-access key and a
// restricted one, and a clock the test can move.
func testAuthority(t *testing.T) (*Authority, *time.Time) {
	t.Helper()
	all, err := ParseKeySpec("app.key:secret")
	if err != nil {
		t.Fatal(err)
	}
	restricted, err := ParseKeySpec(`app.key2:secret2={"allowed:*":["publish","subscribe","history"]}`)
	if err != nil {
		t.Fatal(err)
	}
	now := testNow
	return NewAuthority([]Key{all, restricted}, func() time.Time { return now }), &now
}

// signed returns req with its MAC computed for secret.
func signed(req TokenRequest, secret string) TokenRequest {
	req.MAC = SignTokenRequest(req, secret)
	return req
}

func TestSignTokenRequestVectors(t *testing.T) {
	tests := []struct {
		req  TokenRequest
		want string
	}{
		{TokenRequest{KeyName: "app.key", TTL: "3600000", Capability: `{"*":["*"]}`, ClientID: "bob", Timestamp: "1735689600000", Nonce: "abc123"},
			"AW7a+MwpSGIZdKjMha86JVueN4PhRW+3gekjdMglSEU="},
		{TokenRequest{KeyName: "app.key", Nonce: "n"}, "DL38uwC4QNgilISs6REFIIxI8FW0F8eXjksN2S+CxAM="},
	}
	for _, tt := range tests {
		if got := SignTokenRequest(tt.req, "secret"); got != tt.want {
			t.Errorf("SignTokenRequest(%+v) = %s, want %s", tt.req, got, tt.want)
		}
	}
}

func TestRequestToken(t *testing.T) {
	ts := fmt.Sprint(testNow.UnixMilli())
	basicKey := &Identity{KeyName: "app.key", Capability: allAccess()}
	tests := []struct {
		name     string
		path     string
		req      TokenRequest
		basic    *Identity
		sign     string // secret to sign with, "" = leave as is
		wantCode int
		wantCap  string
		wantTTL  time.Duration
	}{
		{name: "signed defaults", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "1", Timestamp: ts}, sign: "secret",
			wantCap: `{"*":["*"]}`, wantTTL: time.Hour},
		{name: "signed with ttl and capability", path: "app.key", req: TokenRequest{KeyName: "app.key", TTL: "1500", Capability: `{"chat":["subscribe","publish"]}`, ClientID: "bob", Nonce: "2", Timestamp: ts}, sign: "secret",
			wantCap: `{"chat":["publish","subscribe"]}`, wantTTL: 1500 * time.Millisecond},
		{name: "ttl zero means default", path: "app.key", req: TokenRequest{KeyName: "app.key", TTL: "0", Nonce: "3"}, sign: "secret",
			wantCap: `{"*":["*"]}`, wantTTL: time.Hour},
		{name: "max ttl", path: "app.key", req: TokenRequest{KeyName: "app.key", TTL: "86400000", Nonce: "4"}, sign: "secret",
			wantCap: `{"*":["*"]}`, wantTTL: 24 * time.Hour},
		{name: "restricted key default capability", path: "app.key2", req: TokenRequest{KeyName: "app.key2", Nonce: "5"}, sign: "secret2",
			wantCap: `{"allowed:*":["history","publish","subscribe"]}`, wantTTL: time.Hour},
		{name: "restricted key intersected", path: "app.key2", req: TokenRequest{KeyName: "app.key2", Capability: `{"*":["*"]}`, Nonce: "6"}, sign: "secret2",
			wantCap: `{"allowed:*":["history","publish","subscribe"]}`, wantTTL: time.Hour},
		{name: "unsigned with basic", path: "app.key", req: TokenRequest{KeyName: "app.key"}, basic: basicKey,
			wantCap: `{"*":["*"]}`, wantTTL: time.Hour},
		{name: "unsigned without keyName with basic", path: "app.key", req: TokenRequest{}, basic: basicKey,
			wantCap: `{"*":["*"]}`, wantTTL: time.Hour},
		{name: "unsigned without basic", path: "app.key", req: TokenRequest{KeyName: "app.key"}, wantCode: 40101},
		{name: "unsigned with other key's basic", path: "app.key2", req: TokenRequest{KeyName: "app.key2"}, basic: basicKey, wantCode: 40101},
		{name: "unsigned with token identity", path: "app.key", req: TokenRequest{KeyName: "app.key"}, basic: &Identity{KeyName: "app.key", Token: "t"}, wantCode: 40101},
		{name: "unknown key", path: "app.nope", req: TokenRequest{KeyName: "app.nope", Nonce: "x"}, sign: "secret", wantCode: 40101},
		{name: "path body mismatch", path: "app.key2", req: TokenRequest{KeyName: "app.key", Nonce: "x"}, sign: "secret", wantCode: 40101},
		{name: "wrong secret", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x"}, sign: "nope", wantCode: 40101},
		{name: "tampered after signing", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", MAC: SignTokenRequest(TokenRequest{KeyName: "app.key", Nonce: "y"}, "secret")}, wantCode: 40101},
		{name: "timestamp too old", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", Timestamp: fmt.Sprint(testNow.Add(-6 * time.Minute).UnixMilli())}, sign: "secret", wantCode: 40104},
		{name: "timestamp too new", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", Timestamp: fmt.Sprint(testNow.Add(6 * time.Minute).UnixMilli())}, sign: "secret", wantCode: 40104},
		{name: "timestamp at limit", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "7", Timestamp: fmt.Sprint(testNow.Add(-5 * time.Minute).UnixMilli())}, sign: "secret",
			wantCap: `{"*":["*"]}`, wantTTL: time.Hour},
		{name: "timestamp not a number", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", Timestamp: "1.5e12"}, sign: "secret", wantCode: 40000},
		{name: "negative ttl", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", TTL: "-1"}, sign: "secret", wantCode: 40003},
		{name: "ttl too long", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", TTL: "86400001"}, sign: "secret", wantCode: 40003},
		{name: "ttl not a number", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", TTL: "1h"}, sign: "secret", wantCode: 40003},
		{name: "bad capability json", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", Capability: `{"a":`}, sign: "secret", wantCode: 40000},
		{name: "unknown operation", path: "app.key", req: TokenRequest{KeyName: "app.key", Nonce: "x", Capability: `{"a":["fly"]}`}, sign: "secret", wantCode: 40000},
		{name: "empty intersection", path: "app.key2", req: TokenRequest{KeyName: "app.key2", Nonce: "x", Capability: `{"denied":["publish"]}`}, sign: "secret2", wantCode: 40160},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := testAuthority(t)
			req := tt.req
			if tt.sign != "" {
				req = signed(req, tt.sign)
			}
			td, err := a.RequestToken(tt.path, req, tt.basic)
			if tt.wantCode != 0 {
				if err == nil || err.Code != tt.wantCode {
					t.Fatalf("RequestToken error = %v, want code %d", err, tt.wantCode)
				}
				if want := tt.wantCode / 100; err.StatusCode != want {
					t.Fatalf("status = %d, want %d", err.StatusCode, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("RequestToken: %v", err)
			}
			if td.Capability != tt.wantCap || td.KeyName != tt.path || td.ClientID != req.ClientID {
				t.Fatalf("TokenDetails = %+v, want capability %s key %s", td, tt.wantCap, tt.path)
			}
			if td.Issued != testNow.UnixMilli() || td.Expires != testNow.Add(tt.wantTTL).UnixMilli() {
				t.Fatalf("issued/expires = %d/%d, want %d/%d", td.Issued, td.Expires, testNow.UnixMilli(), testNow.Add(tt.wantTTL).UnixMilli())
			}
			if strings.ContainsAny(td.Token, "+/= ") {
				t.Fatalf("token %q is not URL-safe", td.Token)
			}
			id, aerr := a.AuthenticateToken(td.Token)
			if aerr != nil {
				t.Fatalf("AuthenticateToken(issued token): %v", aerr)
			}
			if id.KeyName != tt.path || id.ClientID != req.ClientID || id.Capability.String() != tt.wantCap || id.Expires.UnixMilli() != td.Expires || id.Token != td.Token {
				t.Fatalf("identity = %+v, want key %s client %q cap %s expires %d", id, tt.path, req.ClientID, tt.wantCap, td.Expires)
			}
		})
	}
}

func TestRequestTokenNonceReuse(t *testing.T) {
	a, now := testAuthority(t)
	req := signed(TokenRequest{KeyName: "app.key", Nonce: "same", Timestamp: fmt.Sprint(testNow.UnixMilli())}, "secret")
	if _, err := a.RequestToken("app.key", req, nil); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if _, err := a.RequestToken("app.key", req, nil); err == nil || err.Code != 40105 || err.StatusCode != 401 {
		t.Fatalf("reused nonce error = %v, want 40105/401", err)
	}
	other := signed(TokenRequest{KeyName: "app.key2", Nonce: "same"}, "secret2")
	if _, err := a.RequestToken("app.key2", other, nil); err != nil {
		t.Fatalf("same nonce on another key: %v", err)
	}
	failing := signed(TokenRequest{KeyName: "app.key", Nonce: "kept", TTL: "-5"}, "secret")
	if _, err := a.RequestToken("app.key", failing, nil); err == nil || err.Code != 40003 {
		t.Fatalf("bad ttl error = %v", err)
	}
	kept := signed(TokenRequest{KeyName: "app.key", Nonce: "kept"}, "secret")
	if _, err := a.RequestToken("app.key", kept, nil); err != nil {
		t.Fatalf("a failed request must not use up its nonce: %v", err)
	}
	*now = now.Add(nonceRetention + time.Second)
	fresh := signed(TokenRequest{KeyName: "app.key", Nonce: "same"}, "secret")
	if _, err := a.RequestToken("app.key", fresh, nil); err != nil {
		t.Fatalf("nonce after retention: %v", err)
	}
}

func TestRequestTokenConcurrentNonces(t *testing.T) {
	a, _ := testAuthority(t)
	req := signed(TokenRequest{KeyName: "app.key", Nonce: "race"}, "secret")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.RequestToken("app.key", req, nil); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent requests with one nonce succeeded, want 1", ok)
	}
}

func TestAuthenticateBasic(t *testing.T) {
	a, _ := testAuthority(t)
	tests := []struct {
		in       string
		wantKey  string
		wantCap  string
		wantCode int
	}{
		{in: "app.key:secret", wantKey: "app.key", wantCap: `{"*":["*"]}`},
		{in: "app.key2:secret2", wantKey: "app.key2", wantCap: `{"allowed:*":["history","publish","subscribe"]}`},
		{in: "app.key:wrong", wantCode: 40101},
		{in: "app.key:secret2", wantCode: 40101},
		{in: "app.none:secret", wantCode: 40101},
		{in: "app.key", wantCode: 40101},
		{in: "", wantCode: 40101},
	}
	for _, tt := range tests {
		id, err := a.AuthenticateBasic(tt.in)
		if tt.wantCode != 0 {
			if err == nil || err.Code != tt.wantCode || err.StatusCode != 401 {
				t.Errorf("AuthenticateBasic(%q) error = %v, want %d/401", tt.in, err, tt.wantCode)
			}
			continue
		}
		if err != nil || id.KeyName != tt.wantKey || id.Capability.String() != tt.wantCap || id.Token != "" || !id.Expires.IsZero() {
			t.Errorf("AuthenticateBasic(%q) = %+v, %v", tt.in, id, err)
		}
	}
}

// mintJWT builds an HS256 JWT the way an app would, from raw claims.
func mintJWT(alg, kid, secret string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(claims)
	s := b64url.EncodeToString(h) + "." + b64url.EncodeToString(p)
	return s + "." + b64url.EncodeToString(hs256(secret, s))
}

func TestAuthenticateToken(t *testing.T) {
	a, _ := testAuthority(t)
	issued, err := a.RequestToken("app.key", signed(TokenRequest{KeyName: "app.key", ClientID: "bob", TTL: "1500", Nonce: "n"}, "secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := testNow.Add(time.Hour).Unix()
	valid := map[string]any{"iat": testNow.Unix(), "exp": exp, "x-ably-capability": `{"allowed:a":["publish"]}`, "x-ably-clientId": "carol"}
	objectCap := map[string]any{"exp": exp, "x-ably-capability": map[string]any{"*": []string{"subscribe"}}}
	expired := map[string]any{"exp": testNow.Add(-time.Second).Unix(), "x-ably-capability": `{"*":["*"]}`}
	noExp := map[string]any{"x-ably-capability": `{"*":["*"]}`}
	noCap := map[string]any{"exp": exp}
	tests := []struct {
		name     string
		token    string
		wantCode int
		wantHTTP int // status of the error; 401 unless set
		wantKey  string
		wantCID  string
		wantCap  string
	}{
		{name: "issued raw", token: issued.Token, wantKey: "app.key", wantCID: "bob", wantCap: `{"*":["*"]}`},
		{name: "issued base64", token: base64.StdEncoding.EncodeToString([]byte(issued.Token)), wantKey: "app.key", wantCID: "bob", wantCap: `{"*":["*"]}`},
		{name: "issued base64url", token: base64.RawURLEncoding.EncodeToString([]byte(issued.Token)), wantKey: "app.key", wantCID: "bob", wantCap: `{"*":["*"]}`},
		{name: "app minted", token: mintJWT("HS256", "app.key", "secret", valid), wantKey: "app.key", wantCID: "carol", wantCap: `{"allowed:a":["publish"]}`},
		{name: "app minted intersected with key", token: mintJWT("HS256", "app.key2", "secret2", objectCap), wantKey: "app.key2", wantCap: `{"allowed:*":["subscribe"]}`},
		{name: "app minted outside key", token: mintJWT("HS256", "app.key2", "secret2", map[string]any{"exp": exp, "x-ably-capability": `{"denied":["*"]}`}), wantCode: 40160},
		{name: "expired", token: mintJWT("HS256", "app.key", "secret", expired), wantCode: 40142},
		{name: "no exp", token: mintJWT("HS256", "app.key", "secret", noExp), wantCode: 40144},
		{name: "no capability", token: mintJWT("HS256", "app.key", "secret", noCap), wantCode: 40144},
		{name: "bad signature", token: mintJWT("HS256", "app.key", "wrong", valid), wantCode: 40144},
		{name: "unknown kid", token: mintJWT("HS256", "app.other", "secret", valid), wantCode: 40400, wantHTTP: 404},
		{name: "alg none", token: mintJWT("none", "app.key", "secret", valid), wantCode: 40144},
		{name: "garbage parts", token: "a.b!.c", wantCode: 40144},
		{name: "opaque unknown", token: "not-a-token", wantCode: 40101},
		{name: "empty", token: "", wantCode: 40101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.AuthenticateToken(tt.token)
			if tt.wantCode != 0 {
				want := tt.wantHTTP
				if want == 0 {
					want = 401
				}
				if err == nil || err.Code != tt.wantCode || err.StatusCode != want {
					t.Fatalf("AuthenticateToken error = %v, want %d/%d", err, tt.wantCode, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("AuthenticateToken: %v", err)
			}
			if id.KeyName != tt.wantKey || id.ClientID != tt.wantCID || id.Capability.String() != tt.wantCap || id.Expires.IsZero() || id.Token == "" {
				t.Fatalf("identity = %+v, want key %s client %q cap %s", id, tt.wantKey, tt.wantCID, tt.wantCap)
			}
		})
	}
}

func TestTokenExpiryKeepsMilliseconds(t *testing.T) {
	a, now := testAuthority(t)
	td, err := a.RequestToken("app.key", signed(TokenRequest{KeyName: "app.key", TTL: "1", Nonce: "ms"}, "secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateToken(td.Token); err != nil {
		t.Fatalf("token valid at issue time: %v", err)
	}
	*now = now.Add(time.Millisecond)
	if _, err := a.AuthenticateToken(td.Token); err == nil || err.Code != 40142 || err.StatusCode != 401 {
		t.Fatalf("1 ms token 1 ms later: error = %v, want 40142/401", err)
	}
}

func TestIssuedTokenClaims(t *testing.T) {
	a, _ := testAuthority(t)
	td, err := a.RequestToken("app.key", signed(TokenRequest{KeyName: "app.key", ClientID: "*", Capability: `{"x":["publish"]}`, Nonce: "c"}, "secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(td.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", td.Token)
	}
	var h map[string]any
	var c map[string]any
	hb, _ := b64url.DecodeString(parts[0])
	pb, _ := b64url.DecodeString(parts[1])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(pb, &c) != nil {
		t.Fatalf("undecodable JWT %q", td.Token)
	}
	if h["alg"] != "HS256" || h["kid"] != "app.key" {
		t.Errorf("header = %v", h)
	}
	if c["x-ably-capability"] != `{"x":["publish"]}` || c["x-ably-clientId"] != "*" || c["iat"] != float64(testNow.Unix()) || c["exp"] != float64(testNow.Add(time.Hour).Unix()) {
		t.Errorf("claims = %v", c)
	}
	two, err := a.RequestToken("app.key", signed(TokenRequest{KeyName: "app.key", ClientID: "*", Capability: `{"x":["publish"]}`, Nonce: "d"}, "secret"), nil)
	if err != nil || two.Token == td.Token {
		t.Errorf("two requests at the same instant gave the same token (%v)", err)
	}
}
