package auth

import (
	"crypto/subtle"
	"strings"
	"sync"
	"time"
)

// Token lifetime and TokenRequest validation limits.
const (
	DefaultTokenTTL = 60 * time.Minute // ttl used when a TokenRequest has none
	MaxTokenTTL     = 24 * time.Hour   // largest ttl a TokenRequest may ask for
	MaxClockSkew    = 5 * time.Minute  // largest |now - timestamp| accepted
	nonceRetention  = 2*MaxClockSkew + time.Minute
)

// Identity is the result of a successful authentication: the key it derives
// from, the client identity ("" for none, "*" for a wildcard token), the
// capability, and for tokens the expiry time and the token itself.
type Identity struct {
	KeyName    string
	ClientID   string
	Capability Capability
	Expires    time.Time // zero for key (Basic) auth
	Token      string    // "" for key (Basic) auth
}

// Authority verifies keys and tokens and issues tokens. It is safe for
// concurrent use.
type Authority struct {
	keys  []Key
	byKey map[string]Key
	now   func() time.Time

	mu     sync.Mutex
	nonces map[string]time.Time // keyName + "\n" + nonce → forget after
}

// NewAuthority returns an Authority for the given keys. now supplies the
// current time; nil means time.Now.
func NewAuthority(keys []Key, now func() time.Time) *Authority {
	if now == nil {
		now = time.Now
	}
	a := &Authority{
		keys:   append([]Key(nil), keys...),
		byKey:  make(map[string]Key, len(keys)),
		now:    now,
		nonces: map[string]time.Time{},
	}
	for _, k := range keys {
		a.byKey[k.Name] = k
	}
	return a
}

// Keys returns a copy of the configured keys.
func (a *Authority) Keys() []Key {
	return append([]Key(nil), a.keys...)
}

// AuthenticateBasic verifies "keyName:secret" (the decoded Basic credential
// or the `key` query parameter) and returns the key's identity.
func (a *Authority) AuthenticateBasic(keyNameColonSecret string) (Identity, *Error) {
	name, secret, ok := strings.Cut(keyNameColonSecret, ":")
	if !ok {
		return Identity{}, newError(codeInvalidCredential, "invalid key: want \"appId.keyId:secret\"")
	}
	k, found := a.byKey[name]
	if !found {
		return Identity{}, newError(codeInvalidCredential, "invalid key: no key named %q", name)
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(k.Secret)) != 1 {
		return Identity{}, newError(codeInvalidCredential, "invalid key: wrong secret for key %q", name)
	}
	return Identity{KeyName: k.Name, Capability: k.Capability}, nil
}

// checkNonce records a nonce for a key and reports whether it was unused.
func (a *Authority) checkNonce(keyName, nonce string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for n, until := range a.nonces {
		if now.After(until) {
			delete(a.nonces, n)
		}
	}
	id := keyName + "\n" + nonce
	if _, used := a.nonces[id]; used {
		return false
	}
	a.nonces[id] = now.Add(nonceRetention)
	return true
}
