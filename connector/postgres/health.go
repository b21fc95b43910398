package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/livesync-dev/livesync-dev/connector"
)

// metrics are one node's Prometheus metrics, on its own registry (several
// nodes may run in one process).
type metrics struct {
	reg                       *prometheus.Registry
	pendingAcks               prometheus.Gauge
	nodesEntries, outboxItems prometheus.Gauge
	nodesErrors, outboxErrors prometheus.Counter
	notifications             prometheus.Counter
	latency                   prometheus.Histogram
	stages                    *prometheus.HistogramVec // per journey stage; nil when the journal is off
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg:           prometheus.NewRegistry(),
		pendingAcks:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "ably_pending_acks", Help: "Messages published and awaiting an Ably ACK."}),
		nodesEntries:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "nodes_table_entries", Help: "Rows in the nodes table."}),
		outboxItems:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "outbox_table_entries", Help: "Unprocessed rows in the outbox table."}),
		nodesErrors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "nodes_table_errors", Help: "Failed queries on the nodes table."}),
		outboxErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "outbox_table_errors", Help: "Failed queries on the outbox table."}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{Name: "livesync_notifications_total", Help: "NOTIFY ably_adbc received."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ably_publish_latency_seconds", Help: "Publish → ACK latency.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	m.reg.MustRegister(m.pendingAcks, m.nodesEntries, m.outboxItems, m.nodesErrors, m.outboxErrors, m.notifications, m.latency,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "livesync_events_dropped_total", Help: "Events slow subscribers missed."},
			func() float64 { return float64(n.bus.Dropped()) }))
	return m
}

type healthServer struct {
	addr     string
	srv      *http.Server
	regFile  string
	finished chan struct{}
}

// startHealth listens on HealthAddr, or on a free port when it is taken.
func startHealth(n *Node) (*healthServer, error) {
	ln, err := net.Listen("tcp", n.opts.HealthAddr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		n.log.Info("health address taken; using a free port", "wanted", n.opts.HealthAddr, "addr", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", n.serveHealth)
	mux.Handle("/metrics", promhttp.HandlerFor(n.m.reg, promhttp.HandlerOpts{Registry: n.m.reg}))
	mux.HandleFunc(connector.StatePath, n.serveState)
	mux.HandleFunc(connector.JournalPath, n.serveJournal)
	if n.opts.Profile {
		registerProfiling(mux)
	}
	h := &healthServer{addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, finished: make(chan struct{})}
	go func() { defer close(h.finished); _ = h.srv.Serve(ln) }()
	if n.opts.StateDir != "" {
		h.regFile = filepath.Join(n.opts.StateDir, "nodes", n.id+".json")
		if err := writeRegistration(h.regFile, NodeRegistration{ID: n.id, PID: os.Getpid(), HealthAddr: h.addr, Started: time.Now().UTC()}); err != nil {
			n.log.Warn("cannot register node address", "file", h.regFile, "err", err)
			h.regFile = ""
		}
	}
	return h, nil
}

func (h *healthServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	<-h.finished
	if h.regFile != "" {
		_ = os.Remove(h.regFile)
	}
}

// NodeRegistration is what .livesync/nodes/<id>.json holds, so a monitor in
// another process can find a node's health server.
type NodeRegistration struct {
	// ID is the node's UUID.
	ID string `json:"id"`
	// PID is the process running the node.
	PID int `json:"pid"`
	// HealthAddr serves /health, /metrics and /debug/state.
	HealthAddr string `json:"healthAddr"`
	// Started is when the node started (UTC).
	Started time.Time `json:"started"`
}

func writeRegistration(path string, r NodeRegistration) error {
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

// Health is the /health document: each key {"status": "up"|"down"}.
type Health map[string]struct {
	Status string `json:"status"`
}

// Health reports the node's view of its dependencies.
func (n *Node) Health() Health {
	st := func(b bool) struct {
		Status string `json:"status"`
	} {
		if b {
			return struct {
				Status string `json:"status"`
			}{"up"}
		}
		return struct {
			Status string `json:"status"`
		}{"down"}
	}
	return Health{"ably": st(n.ablyUp.Load()), "postgres": st(n.pgUp.Load()),
		"nodes_table": st(n.nodesUp.Load()), "outbox_table": st(n.outboxUp.Load())}
}

func (n *Node) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := n.Health()
	code := http.StatusOK
	for _, v := range h {
		if v.Status != "up" {
			code = http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}

func (n *Node) serveState(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(n.State())
}

// healthLoop refreshes the health flags and table gauges.
func (n *Node) healthLoop() {
	period := min(2*time.Second, n.opts.SafetyPoll)
	t := time.NewTicker(period)
	defer t.Stop()
	wasUp := true
	for {
		if n.pub.RetryIfFailed() {
			n.log.Warn("Ably connection had failed; reconnecting")
		}
		up := n.pub.Connected()
		n.ablyUp.Store(up)
		if up != wasUp {
			msg := "Ably endpoint up"
			if !up {
				msg = "Ably endpoint down: rows wait and are retried"
			}
			n.log.Info(msg)
			n.emit(connector.Event{Kind: connector.EventInfo, Message: msg})
			wasUp = up
		}
		ctx, cancel := context.WithTimeout(n.runCtx, period)
		if c, err := n.store.NodeCount(ctx); err == nil {
			n.nodesUp.Store(true)
			n.m.nodesEntries.Set(float64(c))
		} else {
			n.nodesError("nodes table check", err)
		}
		if c, err := n.store.OutboxPendingCount(ctx); err == nil {
			n.outboxUp.Store(true)
			n.pgUp.Store(true)
			n.m.outboxItems.Set(float64(c))
		} else if !ctxErr(err) {
			n.outboxUp.Store(false)
			n.dbError("outbox table check", err)
		}
		cancel()
		select {
		case <-n.runCtx.Done():
			return
		case <-t.C:
		}
	}
}
