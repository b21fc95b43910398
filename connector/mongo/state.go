package mongo

import (
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// State returns the connector's connector.NodeState (Kind "mongo", its
// stream in Mongo): the one contract with the monitor and the dashboard,
// also served at connector.StatePath. It is a copy.
func (c *Connector) State() connector.NodeState {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.st
	m.TokenStored = cloneTime(m.TokenStored)
	m.TokenClusterTime = cloneTime(m.TokenClusterTime)
	if m.TokenStored != nil {
		m.TokenAgeSeconds = now.Sub(*m.TokenStored).Seconds()
	}
	if m.LastError != nil {
		e := *m.LastError
		m.LastError = &e
	}
	m.Detail, m.Action = c.stream.detail, c.stream.action
	if m.Stream != connector.MongoStuck && m.Stream != connector.MongoRetrying && m.TokenStoreFailing {
		m.Detail, m.Action = c.tokenErr, c.tokenStoreAction()
	}
	m.EventsSinceCheckpoint = c.handled.events - c.saved.events
	m.EventsPerSecond = c.rate.perSecond(now)
	a := c.ably
	a.Since = cloneTime(a.Since)
	if a.Reason != nil {
		r := *a.Reason
		a.Reason = &r
	}
	return connector.NodeState{Node: c.node, Kind: connector.KindMongo, PID: os.Getpid(), Share: "1/1", Time: now.UTC(),
		Paced: c.opts.RealAbly, Ably: a, EventsDropped: c.opts.Events.Dropped(), Mongo: &m}
}

// tokenStoreAction says what makes storing the token work again (72007).
func (c *Connector) tokenStoreAction() string {
	return "let the connector's user write to collection ably of database " + c.opts.Database +
		" (readWrite on " + c.opts.Database + ".ably) and check that MongoDB accepts writes; the token is stored again at the next checkpoint (every " +
		c.opts.CheckpointInterval.String() + "); until then a restart replays the events since the last stored token (Ably drops the duplicates)"
}

// serveHealth is /health: {"ably": {"status": "up"|"down"}, "mongo": ...};
// 503 while either is down.
func (c *Connector) serveHealth(w http.ResponseWriter, _ *http.Request) {
	st := c.State()
	status := func(up bool) map[string]string {
		if up {
			return map[string]string{"status": "up"}
		}
		return map[string]string{"status": "down"}
	}
	ablyUp, mongoUp := st.Ably.State == "connected", st.Mongo.Stream == connector.MongoStreaming
	w.Header().Set("Content-Type", "application/json")
	if !ablyUp || !mongoUp {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]map[string]string{"ably": status(ablyUp), "mongo": status(mongoUp)})
}

// startHealth serves /health and connector.StatePath and registers the
// connector in the sandbox (Options.HealthAddr, Options.StateDir), like an
// outbox node.
func (c *Connector) startHealth() error {
	if c.opts.HealthAddr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", c.serveHealth)
	mux.HandleFunc(connector.StatePath, connector.StateHandler(c.State))
	h, err := connector.StartHealthServer(connector.HealthServerParams{Addr: c.opts.HealthAddr, Handler: mux, StateDir: c.opts.StateDir,
		Registration: connector.NodeRegistration{ID: c.node, Kind: connector.KindMongo, PID: os.Getpid(), Started: time.Now().UTC()},
		Logger:       c.opts.Logger})
	if err != nil {
		return err
	}
	c.health = h
	return nil
}

// HealthAddr is where the connector serves /health and
// connector.StatePath ("" when it serves none).
func (c *Connector) HealthAddr() string {
	if c.health == nil {
		return ""
	}
	return c.health.Addr()
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := *t
	return &u
}

// rate counts events in one-second buckets over a 10 s window.
type rate struct {
	mu      sync.Mutex
	buckets [10]int64
	secs    [10]int64
}

func (r *rate) add(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := now.Unix()
	i := s % int64(len(r.buckets))
	if r.secs[i] != s {
		r.secs[i], r.buckets[i] = s, 0
	}
	r.buckets[i]++
}

// perSecond averages the complete seconds of the window.
func (r *rate) perSecond(now time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := now.Unix()
	var n int64
	for i := range r.buckets {
		if r.secs[i] < s && r.secs[i] >= s-int64(len(r.buckets)) {
			n += r.buckets[i]
		}
	}
	return float64(n) / float64(len(r.buckets))
}
