package connector

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// NodeRegistration is what .livesync/nodes/<id>.json holds, so a monitor in
// another process can find a node's health server (and ask it for its
// NodeState at StatePath).
type NodeRegistration struct {
	// ID is the node's id (NodeState.Node).
	ID string `json:"id"`
	// Kind is the node's NodeState.Kind ("" from older nodes: postgres).
	Kind string `json:"kind,omitempty"`
	// PID is the process running the node.
	PID int `json:"pid"`
	// HealthAddr serves /health, StatePath and (outbox nodes) /metrics.
	HealthAddr string `json:"healthAddr"`
	// Started is when the node started (UTC).
	Started time.Time `json:"started"`
}

// RegistrationFile is where a node registers under stateDir (the
// .livesync folder): nodes/<id>.json, with characters a file name cannot
// hold replaced.
func RegistrationFile(stateDir, id string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, id)
	return filepath.Join(stateDir, "nodes", safe+".json")
}

// WriteRegistration writes r to path atomically.
func WriteRegistration(path string, r NodeRegistration) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadRegistrations lists the nodes registered under stateDir/nodes.
func ReadRegistrations(stateDir string) ([]NodeRegistration, error) {
	files, err := filepath.Glob(filepath.Join(stateDir, "nodes", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []NodeRegistration
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r NodeRegistration
		if err := json.Unmarshal(b, &r); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// HealthServerParams configure a node's health server.
type HealthServerParams struct {
	// Addr is where to listen; a free port on 127.0.0.1 is used when it is
	// taken.
	Addr string
	// Handler serves the node's routes (see StateHandler for StatePath).
	Handler http.Handler
	// StateDir is the sandbox's .livesync folder, where the node registers
	// ("" = not registered).
	StateDir string
	// Registration is what the node registers (HealthAddr is filled in).
	Registration NodeRegistration
	// Logger receives the fallback-port notice and registration failures.
	Logger *slog.Logger
}

// HealthServer is a node's health server: one per node, registered in the
// sandbox so monitors in other processes find it.
type HealthServer struct {
	addr     string
	srv      *http.Server
	regFile  string
	finished chan struct{}
}

// StartHealthServer listens on p.Addr (or a free port when it is taken),
// serves p.Handler and registers the node under p.StateDir.
func StartHealthServer(p HealthServerParams) (*HealthServer, error) {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		log.Info("health address taken; using a free port", "wanted", p.Addr, "addr", ln.Addr().String())
	}
	h := &HealthServer{addr: ln.Addr().String(), srv: &http.Server{Handler: p.Handler, ReadHeaderTimeout: 5 * time.Second}, finished: make(chan struct{})}
	go func() { defer close(h.finished); _ = h.srv.Serve(ln) }()
	if p.StateDir != "" {
		r := p.Registration
		r.HealthAddr = h.addr
		h.regFile = RegistrationFile(p.StateDir, r.ID)
		if err := WriteRegistration(h.regFile, r); err != nil {
			log.Warn("cannot register node address", "file", h.regFile, "err", err)
			h.regFile = ""
		}
	}
	return h, nil
}

// Addr is the address the server listens on.
func (h *HealthServer) Addr() string { return h.addr }

// Close stops serving and removes the registration.
func (h *HealthServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	<-h.finished
	if h.regFile != "" {
		_ = os.Remove(h.regFile)
	}
}

// StateHandler serves state() as JSON: the StatePath route.
func StateHandler(state func() NodeState) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(state())
	}
}
