// Package ablylog routes ably-go's log lines through our slog logger with API
// key secrets and tokens redacted, and explains why an Ably host could not
// be reached (DNS, refused, TLS, timeout) without echoing the URL's key.
// Every place that makes an ably-go client (the connector's publisher, the
// tail, the dashboard) uses it, so no SDK line reaches the terminal raw.
package ablylog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/ably/ably-go/ably"
)

// secrets match the places a key secret or token appears in SDK output:
// "APP.KEY:SECRET" (also URL-encoded as %3A), key=/accessToken=/access_token=
// query parameters, Basic/Bearer authorization values and JSON token fields.
var secrets = []*regexp.Regexp{
	regexp.MustCompile(`(?i)((?:key|accessToken|access_token|token)=)[^\s&"']+`),
	regexp.MustCompile(`(?i)((?:Basic|Bearer)\s+)[A-Za-z0-9+/=._-]+`),
	regexp.MustCompile(`(?i)("(?:token|accessToken|key|keySecret)"\s*:\s*")[^"]+`),
}

// keySpec matches "APP.KEY:SECRET" (the colon possibly URL-encoded); a
// numeric "secret" is a host's port and is kept.
var keySpec = regexp.MustCompile(`([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?::|%3[Aa]))([^\s&"',;/?]{6,})`)

// Redacted replaces each secret found by Redact.
const Redacted = "[redacted]"

// Redact removes API key secrets and tokens from s.
func Redact(s string) string {
	s = keySpec.ReplaceAllStringFunc(s, func(m string) string {
		sub := keySpec.FindStringSubmatch(m)
		if strings.Trim(sub[2], "0123456789") == "" {
			return m
		}
		return sub[1] + Redacted
	})
	for _, re := range secrets {
		s = re.ReplaceAllString(s, "${1}"+Redacted)
	}
	return s
}

// handler is an ably.Logger writing to slog.
type handler struct{ log *slog.Logger }

// Printf implements ably.Logger.
func (h handler) Printf(level ably.LogLevel, format string, v ...any) {
	msg := Redact(fmt.Sprintf(format, v...))
	lv := slog.LevelDebug
	switch level {
	case ably.LogError:
		lv = slog.LevelError
	case ably.LogWarning:
		lv = slog.LevelWarn
	case ably.LogInfo:
		lv = slog.LevelInfo
	}
	h.log.Log(context.Background(), lv, "ably-go: "+msg)
}

// ClientOptions route ably-go's log lines (warnings and errors) to logger,
// redacted; a nil logger discards them. Put them before the caller's own
// options so those can still override the level.
func ClientOptions(logger *slog.Logger) []ably.ClientOption {
	if logger == nil {
		return []ably.ClientOption{ably.WithLogLevel(ably.LogNone)}
	}
	return []ably.ClientOption{ably.WithLogHandler(handler{logger}), ably.WithLogLevel(ably.LogWarning)}
}

// UnreachableError says which host could not be reached and why.
type UnreachableError struct {
	// Host is the host (and port) tried.
	Host string
	// Why is "DNS lookup failed", "connection refused", "TLS handshake
	// failed", "timed out" or "network unreachable".
	Why string
	// Err is the redacted underlying error text.
	Err string
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %s (%s); check the network, DNS and any proxy or firewall", e.Host, e.Why, e.Err)
}

// Unreachable classifies a connection failure; it returns nil when err is
// not a network failure (for example an Ably error such as a bad key).
// fallbackHost names the host when the error does not.
func Unreachable(err error, fallbackHost string) *UnreachableError {
	if ei, ok := err.(*ably.ErrorInfo); err == nil || ok && ei == nil {
		// a state change without a reason carries a nil *ably.ErrorInfo,
		// which is a non-nil error whose methods panic
		return nil
	}
	host := fallbackHost
	why := ""
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		why, host = "DNS lookup failed", dnsErr.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "connection refused"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		why = "network unreachable"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recErr):
		why = "TLS handshake failed"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		why = "timed out"
	default:
		return nil
	}
	detail := err
	switch {
	case dnsErr != nil:
		detail = dnsErr
	case errors.As(err, &opErr):
		detail = opErr
		if opErr.Addr != nil {
			host = opErr.Addr.String()
		}
	}
	return &UnreachableError{Host: host, Why: why, Err: Redact(detail.Error())}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
