package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livesync-dev/livesync-dev/connector"
)

// recentStageRows is how many of the newest journal rows Stages summarises.
const recentStageRows = 1000

// startJournal creates the node's journal and its per-stage histograms,
// and asks the database whether claims can return commit times.
func (n *Node) startJournal(ctx context.Context) {
	if n.opts.JournalSize < 0 {
		return
	}
	n.jr = newJournal(n.opts.JournalSize)
	on, err := n.store.CommitTimestamps(ctx)
	if err != nil {
		n.log.Warn("cannot read track_commit_timestamp; journeys start at the claim", "err", err)
	}
	n.commitTS = on
	n.m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "livesync_row_stage_seconds",
		Help:    "Per-row latency of each journey stage: commit_notify, notify_claim, claim_publish, publish_ack, ack_complete.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"stage"})
	n.m.reg.MustRegister(n.m.stages)
	for _, st := range connector.Stages { // every stage visible from the first scrape
		n.m.stages.WithLabelValues(string(st))
	}
}

// published records the outcome of a publish attempt.
func (j *journal) published(id int64, attempt int, err error) {
	switch {
	case j == nil:
	case err == nil:
		j.step(id, kAck, attempt, 0)
	case errors.Is(err, errAckTimeout):
		j.step(id, kNoAck, attempt, 0)
	case errors.Is(err, context.Canceled):
	default:
		j.step(id, kNack, attempt, connector.ErrorCode(err))
	}
}

// observeStages feeds a completed row's stages to the histograms.
func (n *Node) observeStages(d [5]time.Duration, ok [5]bool) {
	if n.m.stages == nil {
		return
	}
	for i, st := range connector.Stages {
		if ok[i] {
			n.m.stages.WithLabelValues(string(st)).Observe(d[i].Seconds())
		}
	}
}

// Journeys returns what this node's journal holds about the rows matching
// q: what it serves at connector.JournalPath and what `up` reads in
// process. A node with the journal off answers with Size 0.
func (n *Node) Journeys(q connector.JourneyQuery) connector.JournalReply {
	return n.jr.find(n.id, q)
}

// Stages summarises the per-stage latencies of the node's most recent
// rows (nil when the journal is off).
func (n *Node) Stages() []connector.StageLatency {
	if n.jr == nil {
		return nil
	}
	return n.jr.recentStages(recentStageRows)
}

func (n *Node) serveJournal(w http.ResponseWriter, r *http.Request) {
	q, err := connector.ParseJourneyQuery(r.URL.Query())
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(n.Journeys(q))
}
