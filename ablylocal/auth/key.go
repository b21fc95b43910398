package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Key is an API key: its name ("appId.keyId"), its secret and the
// capability it grants.
type Key struct {
	Name       string
	Secret     string
	Capability Capability
}

// String returns the key in the "appId.keyId:secret" form SDKs accept.
func (k Key) String() string {
	return k.Name + ":" + k.Secret
}

// allAccess returns the capability {"*":["*"]}.
func allAccess() Capability {
	return Capability{"*": {"*"}}
}

// ParseKeySpec parses a key given as "appId.keyId:secret" or
// "appId.keyId:secret={capability JSON}". Without a capability the key
// grants {"*":["*"]}.
func ParseKeySpec(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Key{}, errors.New(`key is empty: want "appId.keyId:secret" or "appId.keyId:secret={capability JSON}"`)
	}
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Key{}, fmt.Errorf(`key %q has no ":": want "appId.keyId:secret"`, s)
	}
	app, id, ok := strings.Cut(name, ".")
	if !ok || app == "" || id == "" || strings.Contains(id, ".") {
		return Key{}, fmt.Errorf(`key name %q is not of the form "appId.keyId"`, name)
	}
	secret, capJSON := rest, ""
	if i := strings.Index(rest, "={"); i >= 0 {
		secret, capJSON = rest[:i], rest[i+1:]
	}
	if secret == "" {
		return Key{}, fmt.Errorf("key %q has an empty secret", name)
	}
	if strings.ContainsAny(secret, ": \t\r\n") {
		return Key{}, fmt.Errorf("secret of key %q must not contain ':' or whitespace", name)
	}
	k := Key{Name: name, Secret: secret, Capability: allAccess()}
	if capJSON != "" {
		c, err := ParseCapability(capJSON)
		if err != nil {
			return Key{}, fmt.Errorf("capability of key %q: %s", name, err.Message)
		}
		k.Capability = c
	}
	return k, nil
}

// GenerateKey returns a new random all-access key named "local.<id>".
func GenerateKey() Key {
	return Key{
		Name:       "local." + randomString(6),
		Secret:     randomString(24),
		Capability: allAccess(),
	}
}

// randomString returns URL-safe base64 text of n random bytes.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
