package ablylocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// Options configures a local endpoint. The zero value is usable.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0" (a free port).
	Addr string
	// Keys are the API keys accepted; empty means one generated all-access key.
	Keys []auth.Key
	// DedupeWindow is how long a message id is remembered for idempotent
	// publishing; default 2 minutes, as on Ably.
	DedupeWindow time.Duration
	// HistoryLimit bounds the messages kept per channel; default 10,000.
	HistoryLimit int
	// HistoryTTL bounds how long messages are kept; default 24 hours.
	HistoryTTL time.Duration
	// ConnectionStateTTL is how long a connection whose transport dropped
	// can be resumed (and is advertised as connectionStateTtl); default 2
	// minutes, as on Ably.
	ConnectionStateTTL time.Duration
	// Limits is "" (no rate limits) or "ably" (50 msg/s per channel, 42913,
	// and per connection, 42911, as Ably's default account limits).
	Limits string
	// MaxIdleInterval is advertised in CONNECTED; a HEARTBEAT is sent when the
	// server → client direction has been quiet for 2/3 of it. Default 15s.
	MaxIdleInterval time.Duration
	// MaxQueuedBytes bounds each connection's unsent outbound frames; a
	// subscriber that falls further behind is disconnected with error 80020.
	// Default 8 MiB.
	MaxQueuedBytes int
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests freeze it to make rate
	// limits deterministic.
	Now func() time.Time
	// Faults are fault rules in force from the start (ably.local.faults);
	// more are added through FaultsPath or AddFault.
	Faults []fault.Rule
}

// Limits advertised to clients and enforced by the server.
const (
	maxMessageSize = 65536
	maxFrameSize   = 524288
	readLimit      = 2 << 20
	maxInboundRate = 250
)

// withDefaults fills unset options.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if len(o.Keys) == 0 {
		o.Keys = []auth.Key{auth.GenerateKey()}
	}
	if o.DedupeWindow <= 0 {
		o.DedupeWindow = 2 * time.Minute
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 10000
	}
	if o.HistoryTTL <= 0 {
		o.HistoryTTL = 24 * time.Hour
	}
	if o.ConnectionStateTTL <= 0 {
		o.ConnectionStateTTL = 2 * time.Minute
	}
	if o.MaxIdleInterval <= 0 {
		o.MaxIdleInterval = 15 * time.Second
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits != "" && o.Limits != "ably" {
		return o, fmt.Errorf("ablylocal: unknown limits %q: use \"\" (no limits) or \"ably\"", o.Limits)
	}
	return o, nil
}

// Server is a running local Ably-compatible endpoint: REST and the realtime
// WebSocket share one port.
type Server struct {
	opts     Options
	log      *slog.Logger
	auth     *auth.Authority
	ln       net.Listener
	http     *http.Server
	instance string
	serverID string
	limits   bool

	mu       sync.Mutex
	conns    map[*conn]struct{}
	channels map[string]*channel
	// sessions maps connection keys to their connection, live or kept
	// for a resume; tombstones are keys that expired or were closed
	sessions   map[string]*conn
	tombstones map[string]time.Time
	closed     bool
	connWG     sync.WaitGroup
	served     chan struct{}
	// closeDone is closed when the first Close has finished, so that a
	// concurrent Close (ctx cancellation and the caller's own Close) does
	// not return before every connection got its DISCONNECTED.
	closeDone chan struct{}
	faults    faultSet // injected faults (faults.go)

	accepted acceptLog // accepted messages for DebugMessagesPath

	onConnClosed func(c *conn, reason *errorInfo) // test hook, guarded by mu
	onHeartbeat  func(c *conn)                    // test hook, set before connections
	onRetained   func(c *conn)                    // test hook, guarded by mu
	onInbound    func(raw []byte)                 // test hook, set before connections: every frame read
}

// Start listens on opts.Addr and serves until Close is called or ctx ends.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("ablylocal: cannot listen on %s: %w (choose another --addr, or port 0 for a free one)", opts.Addr, err)
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		auth:       auth.NewAuthority(opts.Keys, opts.Now),
		ln:         ln,
		instance:   randomID(4),
		limits:     opts.Limits == "ably",
		conns:      map[*conn]struct{}{},
		channels:   map[string]*channel{},
		sessions:   map[string]*conn{},
		tombstones: map[string]time.Time{},
		served:     make(chan struct{}),
		closeDone:  make(chan struct{}),
	}
	s.serverID = "local-" + s.instance
	s.faults.now = opts.Now
	for i, r := range opts.Faults {
		if _, err := s.addFault(r); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("ablylocal: fault rule %d: %w", i+1, err)
		}
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("ablylocal: serve stopped", "err", err)
		}
	}()
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = s.Close()
			case <-s.served:
			}
		}()
	}
	s.log.Info("ablylocal: listening", "addr", s.Addr())
	return s, nil
}

// Addr returns "127.0.0.1:PORT" (the bound host and port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the bound host (IP).
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port returns the bound port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Keys returns the API keys the server accepts (the first is the default).
func (s *Server) Keys() []auth.Key { return s.auth.Keys() }

// Close stops the server gracefully: every realtime connection gets a
// DISCONNECTED frame (so SDKs reconnect rather than fail), then the listener
// and connections close. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.closeDone
		return nil
	}
	s.closed = true
	defer close(s.closeDone)
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx) // stops accepting; hijacked websockets are ours
	for _, c := range conns {
		c.shutdown(newErr(80003, 503, "the local Ably endpoint is shutting down; reconnect later"))
	}
	s.stopRetained()
	waited := make(chan struct{})
	go func() { s.connWG.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	<-s.served
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return err
}

// ServeHTTP routes WebSocket upgrades on "/" to the realtime side and every
// other request to REST.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && isUpgrade(r) {
		if s.refuseRealtime(w, r) {
			return
		}
		s.serveRealtime(w, r)
		return
	}
	if r.URL.Path == FaultsPath || strings.HasPrefix(r.URL.Path, FaultsPath+"/") {
		s.serveLocal(w, r)
		return
	}
	s.serveREST(w, r)
}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		if len(v) >= 9 && (v[:9] == "websocket" || v[:9] == "WebSocket" || v[:9] == "Websocket") {
			return true
		}
	}
	return false
}

// now returns the server clock.
func (s *Server) now() time.Time { return s.opts.Now() }

// nowMs returns the server clock in Unix milliseconds.
func (s *Server) nowMs() int64 { return s.opts.Now().UnixMilli() }

// randomID returns n random bytes as hex (URL-safe, no ':').
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ClientOptions returns the ably-go options that point a client at a local
// endpoint at addr ("host:port") with API key key: endpoint host, port, TLS
// off and Basic auth allowed over plain HTTP.
func ClientOptions(addr string, key string) []ably.ClientOption {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		host, p = addr, "80"
	}
	port, _ := strconv.Atoi(p)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	opts := []ably.ClientOption{
		ably.WithEndpoint(host),
		ably.WithPort(port),
		ably.WithTLS(false),
	}
	if key != "" {
		opts = append(opts, ably.WithKey(key), ably.WithInsecureAllowBasicAuthWithoutTLS())
	}
	return opts
}
