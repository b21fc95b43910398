package monitor

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/ablylocal/localdebug"
	"github.com/livesync-dev/livesync-dev/connector"
)

// NotFoundMessage is what a journey says about a row that is nowhere.
const NotFoundMessage = "not in the outbox and not in the journals of the live nodes: older than the journal, or never inserted here"

// EndpointRecords asks the Ably endpoint what it recorded about message id
// on channel (localdebug.MessagesPath); nil when the endpoint is not
// local.
type EndpointRecords func(ctx context.Context, channel, id string) ([]localdebug.MessageRecord, error)

// JourneyParams say which row to trace.
type JourneyParams struct {
	// Query selects the row: its id, its mutation id, or both.
	Query connector.JourneyQuery
	// Endpoint reads the local endpoint's side (nil: not local).
	Endpoint EndpointRecords
}

// JourneyStage is one line of a journey.
type JourneyStage struct {
	// Stage is what happened: commit, notify, claim, extend, send, ack,
	// nack, no-ack, blocked, released, lock-lost, deleted, tombstone,
	// retained, accepted (by the endpoint).
	Stage string `json:"stage"`
	// Time is when (UTC).
	Time time.Time `json:"time"`
	// Node is the connector node, when a node recorded it.
	Node string `json:"node,omitempty"`
	// Detail says more: attempt, code, claim round, subscribers.
	Detail string `json:"detail,omitempty"`
	// SinceCommitMs is the time since the commit (nil when the commit time
	// is unknown).
	SinceCommitMs *float64 `json:"sinceCommitMs,omitempty"`
	// DeltaMs is the time since the previous stage.
	DeltaMs float64 `json:"deltaMs"`
	// Slowest marks the stage that took longest since the previous one.
	Slowest bool `json:"slowest,omitempty"`
}

// Journey is what happened to one row: from the outbox, the journals of
// the live nodes and (local endpoint) the endpoint.
type Journey struct {
	// Query is what was asked.
	Query connector.JourneyQuery `json:"query"`
	// Found is false when the row is nowhere (Message says so).
	Found bool `json:"found"`
	// Message is a plain sentence for a row that is nowhere.
	Message string `json:"message,omitempty"`
	// SequenceID, MutationID, Channel and Name identify the row.
	SequenceID int64 `json:"sequenceId,omitempty"`
	// MutationID is the row's mutation_id.
	MutationID string `json:"mutationId,omitempty"`
	// Channel is the Ably channel.
	Channel string `json:"channel,omitempty"`
	// Name is the message name.
	Name string `json:"name,omitempty"`
	// RejectHeader is "x-ably-models-reject: true" for a rejected row.
	RejectHeader string `json:"rejectHeader,omitempty"`
	// Status is where the row is: pending, locked, processed (tombstone
	// or retained) or gone (deleted after publishing).
	Status string `json:"status"`
	// Row is the outbox row while it is still there.
	Row *Row `json:"row,omitempty"`
	// Diagnosis is why a pending row is not moving, if it is stuck.
	Diagnosis *Stuck `json:"diagnosis,omitempty"`
	// Nodes are the nodes that journaled the row, in order of first claim.
	Nodes []string `json:"nodes"`
	// Stages are the journey's lines in time order.
	Stages []JourneyStage `json:"stages"`
	// Delivered is how many subscribers the local endpoint delivered the
	// message to (nil: not known, e.g. real Ably).
	Delivered *int `json:"delivered,omitempty"`
	// OtherRows are further rows with the same mutation id.
	OtherRows []int64 `json:"otherRows,omitempty"`
	// Notes say what could not be read (a node, the endpoint).
	Notes []string `json:"notes,omitempty"`
	// Journals are the nodes' raw records of the row.
	Journals []connector.RowJourney `json:"journals"`
}

// RowJourney traces one row: the outbox row if it is still there (with its
// diagnosis when stuck), each live node's journal and the endpoint's
// record, merged into one timeline.
func (m *Monitor) RowJourney(ctx context.Context, p JourneyParams) (*Journey, error) {
	if err := p.Query.Validate(); err != nil {
		return nil, err
	}
	j := &Journey{Query: p.Query, Nodes: []string{}, Stages: []JourneyStage{}, Journals: []connector.RowJourney{}}
	rows, err := m.journeyRows(ctx, p.Query)
	if err != nil {
		return nil, err
	}
	if src, ok := m.opts.Connector.(JournalSource); ok {
		replies, err := src.Journals(ctx, p.Query)
		if err != nil {
			j.Notes = append(j.Notes, "connector journals: "+err.Error())
		}
		for _, r := range replies {
			j.Journals = append(j.Journals, r.Journeys...)
		}
	}
	// Pick the row: the newest id among the outbox and the journals.
	ids := map[int64]bool{}
	for _, r := range rows {
		ids[r.SequenceID] = true
	}
	for _, r := range j.Journals {
		ids[r.SequenceID] = true
	}
	if len(ids) == 0 {
		j.Message = NotFoundMessage
		j.Status = "unknown"
		return j, nil
	}
	var all []int64
	for id := range ids {
		all = append(all, id)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] > all[b] })
	j.Found, j.SequenceID, j.OtherRows = true, all[0], all[1:]
	var keep []connector.RowJourney
	for _, r := range j.Journals {
		if r.SequenceID == j.SequenceID {
			keep = append(keep, r)
		}
	}
	j.Journals = append([]connector.RowJourney{}, keep...)
	var committed *time.Time
	for _, r := range rows {
		if r.SequenceID == j.SequenceID {
			row := r.Row
			j.Row, committed = &row, r.committed
			j.MutationID, j.Channel, j.Name = row.MutationID, row.Channel, row.Name
			if row.Rejected {
				j.RejectHeader = connector.HeaderReject + ": true"
			}
		}
	}
	for _, r := range j.Journals {
		j.MutationID, j.Channel, j.Name = r.MutationID, r.Channel, r.Name
		if r.Rejected {
			j.RejectHeader = connector.HeaderReject + ": true"
		}
		if r.Committed != nil && (committed == nil || r.Committed.Before(*committed)) {
			committed = r.Committed
		}
	}
	j.Status = journeyStatus(j)
	if j.Row != nil && !j.Row.Processed {
		if s, err := m.Snapshot(ctx); err == nil {
			for i := range s.Stuck {
				if s.Stuck[i].SequenceID == j.SequenceID {
					d := s.Stuck[i]
					j.Diagnosis = &d
				}
			}
		} else {
			j.Notes = append(j.Notes, "diagnosis: "+err.Error())
		}
	}
	var recs []localdebug.MessageRecord
	if p.Endpoint != nil && j.Channel != "" {
		recs, err = p.Endpoint(ctx, j.Channel, strconv.FormatInt(j.SequenceID, 10))
		if err != nil {
			j.Notes = append(j.Notes, "endpoint: "+err.Error())
		} else {
			n := 0
			for _, r := range recs {
				n += r.Delivered
			}
			j.Delivered = &n
		}
	}
	j.Stages = timeline(committed, j.Journals, recs)
	for _, s := range j.Stages {
		if s.Node != "" && !contains(j.Nodes, s.Node) {
			j.Nodes = append(j.Nodes, s.Node)
		}
	}
	for _, r := range j.Journals {
		if !tookOver(r) || contains(j.Nodes, r.TookOverFrom) {
			continue
		}
		// The earlier holder's journal is not among the answers: it was
		// killed or stopped (that is why its lock lapsed).
		j.Nodes = append(j.Nodes, r.TookOverFrom)
		j.Notes = append(j.Notes, fmt.Sprintf("node %s held this row before %s took it over (its lock lapsed); its journal did not answer: the node was killed or is stopped, so what it did with the row (it may have published it) is not shown",
			r.TookOverFrom, r.Node))
	}
	return j, nil
}

// tookOver reports whether r's latest claim replaced another node's lapsed
// lock (a node re-claiming after its own lock lapsed is no takeover).
func tookOver(r connector.RowJourney) bool {
	return r.TookOverFrom != "" && r.TookOverFrom != r.Node
}

// lastClaim is the index of r's latest claim step (-1: none).
func lastClaim(r connector.RowJourney) int {
	for i := len(r.Steps) - 1; i >= 0; i-- {
		if r.Steps[i].Kind == connector.StepClaim {
			return i
		}
	}
	return -1
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// journeyStatus says where the row is.
func journeyStatus(j *Journey) string {
	switch {
	case j.Row == nil:
		return "gone"
	case j.Row.Processed:
		return "processed"
	case j.Row.LockedBy != nil:
		return "locked"
	}
	return "pending"
}

// journeyRow is an outbox row with its commit time.
type journeyRow struct {
	Row
	committed *time.Time
}

// journeyRows reads the rows matching q still in the outbox.
func (m *Monitor) journeyRows(ctx context.Context, q connector.JourneyQuery) ([]journeyRow, error) {
	rows, err := m.db.Query(ctx, fmt.Sprintf(`SELECT %s,
  CASE WHEN current_setting('track_commit_timestamp') = 'on' THEN pg_xact_commit_timestamp(xmin) END
FROM %s WHERE ($1::bigint = 0 OR sequence_id = $1) AND ($2::text = '' OR mutation_id = $2)
ORDER BY sequence_id DESC LIMIT 20`, rowColumns, m.opts.Names.Outbox()), q.SequenceID, q.MutationID)
	if err != nil {
		if isUndefinedTable(err) {
			return nil, fmt.Errorf("no outbox table %s: run `livesync-dev sandbox up` or check postgres.outboxTableName", m.opts.Names.Outbox())
		}
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (journeyRow, error) {
		var jr journeyRow
		var data, headers []byte
		err := r.Scan(&jr.SequenceID, &jr.MutationID, &jr.Channel, &jr.Name, &jr.Rejected, &data, &headers,
			&jr.LockedBy, &jr.LockExpiry, &jr.Processed, &jr.committed)
		jr.Data, jr.Headers = jsonOrNull(data), jsonOrNull(headers)
		if jr.committed != nil {
			t := jr.committed.UTC()
			jr.committed = &t
		}
		return jr, err
	})
}

// timeline merges the commit, the nodes' steps and the endpoint's records
// in time order, with the time since commit, the delta from the previous
// line and the slowest line marked.
func timeline(committed *time.Time, journals []connector.RowJourney, recs []localdebug.MessageRecord) []JourneyStage {
	var out []JourneyStage
	if committed != nil {
		out = append(out, JourneyStage{Stage: "commit", Time: *committed})
	}
	var notified *time.Time
	var noteNode string
	for _, r := range journals {
		if r.Notified != nil && (notified == nil || r.Notified.Before(*notified)) {
			notified, noteNode = r.Notified, r.Node
		}
		for i, s := range r.Steps {
			st := JourneyStage{Stage: string(s.Kind), Time: s.Time, Node: r.Node}
			switch {
			case s.Kind == connector.StepClaim && tookOver(r) && i == lastClaim(r):
				st.Detail = fmt.Sprintf("claim round %d, took over from node %s (its lock lapsed)", s.Round, r.TookOverFrom)
			case s.Kind == connector.StepClaim:
				st.Detail = fmt.Sprintf("claim round %d", s.Round)
			case s.Code != 0:
				st.Detail = fmt.Sprintf("attempt %d, Ably error %d", s.Attempt, s.Code)
			case s.Attempt != 0:
				st.Detail = fmt.Sprintf("attempt %d", s.Attempt)
			}
			out = append(out, st)
		}
	}
	if notified != nil {
		out = append(out, JourneyStage{Stage: "notify", Time: *notified, Node: noteNode, Detail: "first NOTIFY ably_adbc before the claim"})
	}
	for _, r := range recs {
		conn := r.ConnectionID
		if conn == "" {
			conn = "REST"
		}
		out = append(out, JourneyStage{Stage: "accepted", Time: r.Accepted,
			Detail: fmt.Sprintf("endpoint: connection %s, serial %s, delivered to %d subscriber(s)", conn, r.Serial, r.Delivered)})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Time.Before(out[b].Time) })
	slowest, worst := -1, time.Duration(-1)
	for i := range out {
		if committed != nil {
			ms := float64(out[i].Time.Sub(*committed)) / 1e6
			out[i].SinceCommitMs = &ms
		}
		if i > 0 {
			d := out[i].Time.Sub(out[i-1].Time)
			out[i].DeltaMs = float64(d) / 1e6
			// A tombstone waits for a higher row by design: not a slow stage.
			if d > worst && out[i-1].Stage != string(connector.StepTombstone) {
				slowest, worst = i, d
			}
		}
	}
	if slowest > 0 {
		out[slowest].Slowest = true
	}
	return out
}
