package ablylog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

func TestRedact(t *testing.T) {
	for _, in := range []string{
		`Get "https://main.realtime.ably.net:443?echo=true&key=a.b%3Asecretvalue&v=2": dial tcp`,
		`key a.b:secretvalue rejected`,
		`Authorization: Basic YS5iOnNlY3JldHZhbHVl`,
		`{"token":"secretvalue"}`,
		`wss://h/?accessToken=secretvalue&format=json`,
	} {
		out := Redact(in)
		if strings.Contains(out, "secretvalue") || strings.Contains(out, "YS5iOnNlY3JldHZhbHVl") || !strings.Contains(out, Redacted) {
			t.Errorf("Redact(%q) = %q", in, out)
		}
	}
	keep := `dial tcp 127.0.0.1:443 and rest.ably.io:443/time`
	if out := Redact(keep); out != keep {
		t.Errorf("Redact changed a line without secrets: %q", out)
	}
}

// TestSDKLogsAreRedacted: a real ably-go client that cannot connect logs
// through our slog handler, and the key secret never appears.
func TestSDKLogsAreRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a closed port: every dial is refused
	var buf syncBuf
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	opts := append(ClientOptions(logger), ably.WithKey("app.key:secretvalue"), ably.WithEndpoint("127.0.0.1"),
		ably.WithPort(port), ably.WithTLS(false), ably.WithInsecureAllowBasicAuthWithoutTLS(), ably.WithAutoConnect(false))
	rt, err := ably.NewRealtime(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	got := make(chan ably.ConnectionStateChange, 4)
	rt.Connection.On(ably.ConnectionEventDisconnected, func(c ably.ConnectionStateChange) { got <- c })
	rt.Connect()
	var change ably.ConnectionStateChange
	select {
	case change = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no DISCONNECTED")
	}
	u := Unreachable(change.Reason, "127.0.0.1")
	if u == nil || u.Why != "connection refused" || !strings.Contains(u.Host, fmt.Sprint(port)) {
		t.Fatalf("Unreachable(%v) = %+v, want connection refused to port %d", change.Reason, u, port)
	}
	if strings.Contains(u.Error(), "secretvalue") {
		t.Fatalf("error shows the secret: %v", u)
	}
	rt.Close()
	if !strings.Contains(buf.String(), "ably-go:") {
		t.Fatalf("ably-go logged nothing through slog:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "secretvalue") {
		t.Fatalf("ably-go log shows the secret:\n%s", buf.String())
	}
}

// TestUnreachableNilReason: a connection state change without a reason
// passes a nil *ably.ErrorInfo; it is not a network failure.
func TestUnreachableNilReason(t *testing.T) {
	var reason *ably.ErrorInfo
	if u := Unreachable(reason, "h"); u != nil {
		t.Fatalf("Unreachable(nil *ErrorInfo) = %v, want nil", u)
	}
}

func TestUnreachableDNS(t *testing.T) {
	err := fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "main.realtime.ably.net", IsNotFound: true}})
	u := Unreachable(err, "x")
	if u == nil || u.Why != "DNS lookup failed" || u.Host != "main.realtime.ably.net" {
		t.Fatalf("%+v", u)
	}
	if Unreachable(errors.New("40101 invalid key"), "x") != nil || Unreachable(context.Canceled, "x") != nil {
		t.Fatal("non-network errors classified as unreachable")
	}
}

type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
