package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"time"
)

// TokenRequest is a received TokenRequest. TTL and Timestamp are the raw
// decimal texts ("" when absent) so the MAC is checked over the values
// exactly as received.
type TokenRequest struct {
	KeyName    string
	Capability string
	ClientID   string
	Nonce      string
	MAC        string
	TTL        string
	Timestamp  string
}

// TokenDetails is an issued token. Issued and Expires are in milliseconds
// since the epoch; Capability is the canonical JSON of what was granted.
type TokenDetails struct {
	Token      string
	KeyName    string
	Issued     int64
	Expires    int64
	Capability string
	ClientID   string
}

// SignTokenRequest returns the MAC of a TokenRequest for the given secret:
// standard base64 of HMAC-SHA256 over keyName, ttl, capability, clientId,
// timestamp and nonce, each followed by a newline.
func SignTokenRequest(req TokenRequest, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, v := range []string{req.KeyName, req.TTL, req.Capability, req.ClientID, req.Timestamp, req.Nonce} {
		m.Write([]byte(v))
		m.Write([]byte{'\n'})
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// RequestToken validates a TokenRequest sent to
// /keys/{keyName}/requestToken and issues a token. keyName is the key name
// from the path. basic is the caller's identity when the request carried
// Basic (key) auth, or nil; an unsigned request is accepted only with Basic
// auth for the same key.
func (a *Authority) RequestToken(keyName string, req TokenRequest, basic *Identity) (TokenDetails, *Error) {
	if req.KeyName != "" && req.KeyName != keyName {
		return TokenDetails{}, newError(codeInvalidCredential, "TokenRequest keyName %q does not match key %q in the request path", req.KeyName, keyName)
	}
	k, found := a.byKey[keyName]
	if !found {
		return TokenDetails{}, newError(codeInvalidCredential, "no key named %q", keyName)
	}
	if req.MAC == "" {
		if basic == nil || basic.Token != "" || basic.KeyName != keyName {
			return TokenDetails{}, newError(codeInvalidCredential, "TokenRequest for key %q has no mac: sign it with the key secret or authenticate with the key", keyName)
		}
	} else if subtle.ConstantTimeCompare([]byte(req.MAC), []byte(SignTokenRequest(req, k.Secret))) != 1 {
		return TokenDetails{}, newError(codeInvalidCredential, "TokenRequest mac does not match: sign keyName, ttl, capability, clientId, timestamp and nonce with the secret of key %q", keyName)
	}
	now := a.now()
	if req.Timestamp != "" {
		ts, err := strconv.ParseInt(req.Timestamp, 10, 64)
		if err != nil {
			return TokenDetails{}, newError(codeBadRequest, "TokenRequest timestamp %q is not an integer number of milliseconds", req.Timestamp)
		}
		skew := now.Sub(time.UnixMilli(ts))
		if skew > MaxClockSkew || skew < -MaxClockSkew {
			return TokenDetails{}, newError(codeTimestampSkew, "TokenRequest timestamp %d is %v away from server time: check the clock (limit %v)", ts, skew.Round(time.Second), MaxClockSkew)
		}
	}
	ttl := DefaultTokenTTL
	if req.TTL != "" {
		ms, err := strconv.ParseInt(req.TTL, 10, 64)
		if err != nil {
			return TokenDetails{}, newError(codeInvalidParameter, "TokenRequest ttl %q is not an integer number of milliseconds", req.TTL)
		}
		if ms < 0 || ms > MaxTokenTTL.Milliseconds() {
			return TokenDetails{}, newError(codeInvalidParameter, "TokenRequest ttl %d ms is out of range: want 0 to %d", ms, MaxTokenTTL.Milliseconds())
		}
		if ms > 0 {
			ttl = time.Duration(ms) * time.Millisecond
		}
	}
	granted := k.Capability
	if req.Capability != "" {
		requested, cerr := ParseCapability(req.Capability)
		if cerr != nil {
			return TokenDetails{}, cerr
		}
		granted = Intersect(requested, k.Capability)
		if len(granted) == 0 {
			return TokenDetails{}, newError(codeNotPermitted, "requested capability %s is not permitted by key %q (which allows %s)", requested, keyName, k.Capability)
		}
	}
	if req.Nonce != "" && !a.checkNonce(keyName, req.Nonce, now) {
		return TokenDetails{}, newError(codeNonceReused, "TokenRequest nonce %q was already used: create a new TokenRequest", req.Nonce)
	}
	expires := now.Add(ttl)
	token := signJWT(k, jwtClaims{
		IssuedAt:   now.Unix(),
		Expires:    (expires.UnixMilli() + 999) / 1000,
		ExpiresMs:  expires.UnixMilli(),
		Capability: granted.String(),
		ClientID:   req.ClientID,
		ID:         randomString(9),
	})
	return TokenDetails{
		Token:      token,
		KeyName:    keyName,
		Issued:     now.UnixMilli(),
		Expires:    expires.UnixMilli(),
		Capability: granted.String(),
		ClientID:   req.ClientID,
	}, nil
}
