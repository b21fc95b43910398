// Package auth implements the authentication and authorisation rules of the
// local Ably-compatible endpoint: API keys, capabilities, signed token
// requests and the tokens issued for them (HS256 Ably JWTs).
//
// The package is pure logic: it knows nothing about HTTP or WebSockets.
// Callers map an *Error to the wire (HTTP status, ERROR frame, NACK).
package auth

import "fmt"

// Error is an Ably error: the Ably error code (e.g. 40160), the HTTP status
// code that goes with it and a human-readable message.
type Error struct {
	Code       int
	StatusCode int
	Message    string
}

// Error returns the message followed by the Ably code and status.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (code %d, status %d)", e.Message, e.Code, e.StatusCode)
}

// Ably error codes used by this package.
const (
	codeBadRequest        = 40000 // invalid request body (e.g. capability)
	codeInvalidParameter  = 40003 // invalid parameter value (e.g. ttl)
	codeInvalidCredential = 40101 // unknown key, bad secret, bad MAC, unknown token
	codeTimestampSkew     = 40104 // TokenRequest timestamp out of range
	codeNonceReused       = 40105 // TokenRequest nonce already used
	codeTokenExpired      = 40142 // token expired
	codeInvalidJWT        = 40144 // malformed or badly signed JWT
	codeNotPermitted      = 40160 // capability does not permit the operation
	codeNotFound          = 40400 // JWT kid names no configured key
)

// newError builds an Error whose status code is derived from the Ably code
// the way the SDKs expect it (400xx → 400, 401xx → 401, 403xx → 403).
func newError(code int, format string, args ...any) *Error {
	status := 500
	switch code / 100 {
	case 400:
		status = 400
	case 401:
		status = 401
	case 403:
		status = 403
	case 404:
		status = 404
	}
	return &Error{Code: code, StatusCode: status, Message: fmt.Sprintf(format, args...)}
}
