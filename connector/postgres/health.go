package postgres

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
		collectors.NewGoCollector(), // go_* runtime metrics, e.g. the collector's settings (go_gc_gogc_percent)
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "livesync_events_dropped_total", Help: "Events slow subscribers missed."},
			func() float64 { return float64(n.bus.Dropped()) }))
	return m
}

// startHealth serves /health, /metrics and connector.StatePath on
// HealthAddr (a free port when it is taken) through the connector's shared
// health server, which registers the node in the sandbox.
func startHealth(n *Node) (*connector.HealthServer, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", n.serveHealth)
	mux.Handle("/metrics", promhttp.HandlerFor(n.m.reg, promhttp.HandlerOpts{Registry: n.m.reg}))
	mux.HandleFunc(connector.StatePath, connector.StateHandler(n.State))
	mux.HandleFunc(connector.JournalPath, n.serveJournal)
	if n.opts.Profile {
		registerProfiling(mux)
	}
	return connector.StartHealthServer(connector.HealthServerParams{Addr: n.opts.HealthAddr, Handler: mux, StateDir: n.opts.StateDir,
		Registration: NodeRegistration{ID: n.id, Kind: connector.KindPostgres, PID: os.Getpid(), Started: time.Now().UTC()}, Logger: n.log})
}

// NodeRegistration is what .livesync/nodes/<id>.json holds (the shared
// connector.NodeRegistration).
type NodeRegistration = connector.NodeRegistration

// ReadRegistrations lists the nodes registered under stateDir/nodes.
func ReadRegistrations(stateDir string) ([]NodeRegistration, error) {
	return connector.ReadRegistrations(stateDir)
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
