package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// jwtClaims are the claims of an Ably JWT. ExpiresMs is an extra claim
// that keeps the expiry's millisecond precision for tokens issued here;
// app-minted JWTs only carry exp (seconds).
type jwtClaims struct {
	IssuedAt   int64  `json:"iat"`
	Expires    int64  `json:"exp"`
	ExpiresMs  int64  `json:"x-ably-local-exp-ms,omitempty"`
	Capability string `json:"x-ably-capability"`
	ClientID   string `json:"x-ably-clientId,omitempty"`
	ID         string `json:"jti,omitempty"`
}

// jwtHeader is the JOSE header of an HS256 Ably JWT.
type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

var b64url = base64.RawURLEncoding

// signJWT returns an HS256 JWT signed with the key's secret.
func signJWT(k Key, c jwtClaims) string {
	h, _ := json.Marshal(jwtHeader{Alg: "HS256", Typ: "JWT", Kid: k.Name})
	p, _ := json.Marshal(c)
	signing := b64url.EncodeToString(h) + "." + b64url.EncodeToString(p)
	return signing + "." + b64url.EncodeToString(hs256(k.Secret, signing))
}

// hs256 returns HMAC-SHA256 of data keyed with secret.
func hs256(secret, data string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(data))
	return m.Sum(nil)
}

// looksLikeJWT reports whether s has the three dot-separated parts of a JWS.
func looksLikeJWT(s string) bool {
	return strings.Count(s, ".") == 2
}

// AuthenticateToken verifies a token given raw or as base64 of the raw
// token (SDKs send "Bearer base64(token)"). Tokens issued by RequestToken
// and HS256 Ably JWTs minted by the app with a key secret (kid = key name)
// are accepted. An expired token yields 40142, a malformed or badly signed
// JWT 40144, anything else 40101, all with status 401; a JWT whose kid names
// no configured key (unknown app or key) yields 40400 with status 404.
func (a *Authority) AuthenticateToken(token string) (Identity, *Error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Identity{}, newError(codeInvalidCredential, "empty token")
	}
	if !looksLikeJWT(token) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if raw, err := enc.DecodeString(token); err == nil && looksLikeJWT(string(raw)) {
				token = string(raw)
				break
			}
		}
	}
	if !looksLikeJWT(token) {
		return Identity{}, newError(codeInvalidCredential, "invalid token: not a token issued by this server or an Ably JWT")
	}
	return a.verifyJWT(token)
}

// verifyJWT checks an HS256 Ably JWT and returns its identity.
func (a *Authority) verifyJWT(token string) (Identity, *Error) {
	parts := strings.Split(token, ".")
	hb, err1 := b64url.DecodeString(parts[0])
	pb, err2 := b64url.DecodeString(parts[1])
	sig, err3 := b64url.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return Identity{}, newError(codeInvalidJWT, "invalid JWT: parts are not base64url")
	}
	var h jwtHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return Identity{}, newError(codeInvalidJWT, "invalid JWT header: %v", err)
	}
	if h.Alg != "HS256" {
		return Identity{}, newError(codeInvalidJWT, "invalid JWT: alg %q is not supported, use HS256", h.Alg)
	}
	k, found := a.byKey[h.Kid]
	if !found {
		// Ably answers 404 40400 (not a token error, so SDKs do not renew
		// a token that can never work)
		return Identity{}, newError(codeNotFound, "invalid JWT: kid %q names no key of this endpoint (want \"appId.keyId\" of a configured key)", h.Kid)
	}
	if !hmac.Equal(sig, hs256(k.Secret, parts[0]+"."+parts[1])) {
		return Identity{}, newError(codeInvalidJWT, "invalid JWT: signature does not verify with the secret of key %q", k.Name)
	}
	var c struct {
		Exp        *float64        `json:"exp"`
		ExpMs      *float64        `json:"x-ably-local-exp-ms"`
		Capability json.RawMessage `json:"x-ably-capability"`
		ClientID   *string         `json:"x-ably-clientId"`
	}
	if err := json.Unmarshal(pb, &c); err != nil {
		return Identity{}, newError(codeInvalidJWT, "invalid JWT claims: %v", err)
	}
	var expires time.Time
	switch {
	case c.ExpMs != nil:
		expires = time.UnixMilli(int64(*c.ExpMs))
	case c.Exp != nil:
		expires = time.UnixMilli(int64(math.Round(*c.Exp * 1000)))
	default:
		return Identity{}, newError(codeInvalidJWT, "invalid JWT: no exp claim")
	}
	if !a.now().Before(expires) {
		return Identity{}, newError(codeTokenExpired, "token expired at %s", expires.UTC().Format(time.RFC3339Nano))
	}
	capability, cerr := jwtCapability(c.Capability, k)
	if cerr != nil {
		return Identity{}, cerr
	}
	id := Identity{KeyName: k.Name, Capability: capability, Expires: expires, Token: token}
	if c.ClientID != nil {
		id.ClientID = *c.ClientID
	}
	return id, nil
}

// jwtCapability parses the x-ably-capability claim (a JSON string, or an
// object for lenient minting) and intersects it with the key's capability.
func jwtCapability(raw json.RawMessage, k Key) (Capability, *Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, newError(codeInvalidJWT, "invalid JWT: no x-ably-capability claim")
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = s
	}
	requested, err := ParseCapability(text)
	if err != nil {
		return nil, newError(codeInvalidJWT, "invalid JWT x-ably-capability claim: %s", err.Message)
	}
	granted := Intersect(requested, k.Capability)
	if len(granted) == 0 {
		return nil, newError(codeNotPermitted, "JWT capability %s is not permitted by key %q", requested, k.Name)
	}
	return granted, nil
}
