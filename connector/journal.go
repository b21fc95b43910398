package connector

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// JournalPath is the health-server route that serves a node's row journal:
// GET JournalPath?id=N or ?mutation=UUID answers a JournalReply as JSON.
// The monitor reads it from nodes in other processes; in-process nodes
// hand the same value over directly (Node.Journeys).
const JournalPath = "/debug/rows"

// DefaultJournalSize is how many rows a node's journal keeps by default
// (connector.journalSize).
const DefaultJournalSize = 100000

// JourneyQuery selects rows in a journal: by sequence id, by mutation id,
// or both (a row must then match both).
type JourneyQuery struct {
	// SequenceID is the outbox row (0: any).
	SequenceID int64 `json:"sequenceId,omitempty"`
	// MutationID is the row's mutation_id ("" : any).
	MutationID string `json:"mutationId,omitempty"`
}

// Validate refuses an empty query or a negative id. Mutation ids are
// text (the Models SDK sends UUIDs, but the column is TEXT).
func (q JourneyQuery) Validate() error {
	if q.SequenceID == 0 && q.MutationID == "" {
		return errors.New("give a row id or a mutation id")
	}
	if q.SequenceID < 0 {
		return fmt.Errorf("row id %d is negative: outbox sequence ids start at 1", q.SequenceID)
	}
	return nil
}

// Matches reports whether a row with this id and mutation id is selected.
func (q JourneyQuery) Matches(id int64, mutation string) bool {
	if q.SequenceID != 0 && q.SequenceID != id {
		return false
	}
	return q.MutationID == "" || q.MutationID == mutation
}

// Values encodes the query as JournalPath's parameters.
func (q JourneyQuery) Values() url.Values {
	v := url.Values{}
	if q.SequenceID != 0 {
		v.Set("id", strconv.FormatInt(q.SequenceID, 10))
	}
	if q.MutationID != "" {
		v.Set("mutation", q.MutationID)
	}
	return v
}

// ParseJourneyQuery decodes JournalPath's parameters.
func ParseJourneyQuery(v url.Values) (JourneyQuery, error) {
	var q JourneyQuery
	if s := v.Get("id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return q, fmt.Errorf("id %q is not a row id (a decimal sequence_id)", s)
		}
		q.SequenceID = id
	}
	q.MutationID = v.Get("mutation")
	return q, q.Validate()
}

// JournalReply is what a node answers at JournalPath.
type JournalReply struct {
	// Node is the answering node's id.
	Node string `json:"node"`
	// Size is the journal's capacity in rows (connector.journalSize).
	Size int `json:"size"`
	// Rows counts rows the journal holds now.
	Rows int `json:"rows"`
	// Oldest is when the oldest row it holds was first claimed (nil: empty).
	Oldest *time.Time `json:"oldest,omitempty"`
	// Journeys are the rows matching the query.
	Journeys []RowJourney `json:"journeys"`
}

// StepKind is what happened to a row in one step of its journey.
type StepKind string

// The steps a node records for a row.
const (
	// StepClaim: the node locked the row (Round is the node's claim round).
	StepClaim StepKind = "claim"
	// StepFence: the node confirmed it still holds the row's lock before
	// an attempt (read, or extended when running low).
	StepFence StepKind = "fence"
	// StepExtend: the node's heartbeat extended the row's lock.
	StepExtend StepKind = "extend"
	// StepLockLost: the lock could not be confirmed (another node took the
	// row, or it was deleted); the node dropped it.
	StepLockLost StepKind = "lock-lost"
	// StepSend: publish attempt Attempt was sent.
	StepSend StepKind = "send"
	// StepAck: Ably acknowledged attempt Attempt.
	StepAck StepKind = "ack"
	// StepNack: Ably refused attempt Attempt with Code.
	StepNack StepKind = "nack"
	// StepNoAck: attempt Attempt got no ACK before the row's lock deadline.
	StepNoAck StepKind = "no-ack"
	// StepBlocked: Code is permanent; the channel stopped at this row.
	StepBlocked StepKind = "blocked"
	// StepReleased: the node cleared its lock without publishing (stop,
	// blocked channel, claim across a lock loss).
	StepReleased StepKind = "released"
	// StepDeleted: completion deleted the row.
	StepDeleted StepKind = "deleted"
	// StepTombstone: completion kept the row as the processed tombstone.
	StepTombstone StepKind = "tombstone"
	// StepRetained: completion kept the row (connector.retainProcessed).
	StepRetained StepKind = "retained"
)

// JourneyStep is one step of a row's journey through a node.
type JourneyStep struct {
	// Kind says what happened.
	Kind StepKind `json:"kind"`
	// Time is when (the node's clock, UTC).
	Time time.Time `json:"time"`
	// Attempt is the publish attempt (send, ack, nack, no-ack).
	Attempt int `json:"attempt,omitempty"`
	// Round is the node's claim round (claim).
	Round int64 `json:"round,omitempty"`
	// Code is the Ably error code (nack, blocked).
	Code int `json:"code,omitempty"`
}

// RowJourney is what one node recorded about one row.
type RowJourney struct {
	// Node is the recording node.
	Node string `json:"node"`
	// SequenceID is the row (its Ably message id).
	SequenceID int64 `json:"sequenceId"`
	// MutationID is the row's mutation_id.
	MutationID string `json:"mutationId"`
	// Channel is the Ably channel.
	Channel string `json:"channel"`
	// Name is the message name.
	Name string `json:"name"`
	// Rejected is true when the row carried x-ably-models-reject: true.
	Rejected bool `json:"rejected"`
	// TookOverFrom is the node whose lapsed lock this node's latest claim
	// of the row replaced ("" when the row was unlocked): that node had
	// the row before, and may have published it.
	TookOverFrom string `json:"tookOverFrom,omitempty"`
	// Committed is the commit time of the row version the node claimed
	// (pg_xact_commit_timestamp; the database's clock), nil when
	// track_commit_timestamp is off.
	Committed *time.Time `json:"committed,omitempty"`
	// Notified is the first NOTIFY ably_adbc the node received before the
	// claim that took the row and after the row committed (nil: the claim
	// was not woken by a notification for it, e.g. a poll or a busy drain).
	Notified *time.Time `json:"notified,omitempty"`
	// Steps are the node's steps for the row, in order.
	Steps []JourneyStep `json:"steps"`
}

// Stage names a span of a row's journey, for the per-stage latencies.
type Stage string

// The stages of a row's journey, in order.
const (
	// StageCommitNotify: commit → first notification.
	StageCommitNotify Stage = "commit_notify"
	// StageNotifyClaim: notification (or commit when none) → claim.
	StageNotifyClaim Stage = "notify_claim"
	// StageClaimPublish: claim → first send.
	StageClaimPublish Stage = "claim_publish"
	// StagePublishAck: last send → ACK.
	StagePublishAck Stage = "publish_ack"
	// StageAckComplete: ACK → deletion (or tombstone).
	StageAckComplete Stage = "ack_complete"
)

// Stages lists the stages in journey order.
var Stages = []Stage{StageCommitNotify, StageNotifyClaim, StageClaimPublish, StagePublishAck, StageAckComplete}

// StageLatency summarises one stage over a node's recently completed rows.
type StageLatency struct {
	// Stage is the span measured.
	Stage Stage `json:"stage"`
	// Count is how many rows measured it.
	Count int `json:"count"`
	// P50, P99 and Max are in milliseconds.
	P50 float64 `json:"p50Ms"`
	// P99 is the 99th percentile (ms).
	P99 float64 `json:"p99Ms"`
	// Max is the largest (ms).
	Max float64 `json:"maxMs"`
}

// StageDurations measures a completed journey's stages, in Stages order;
// ok[i] is false for a stage the journey lacks (no commit time, not
// complete, ...).
func (j RowJourney) StageDurations() (d [5]time.Duration, ok [5]bool) {
	var commit, note int64
	if j.Committed != nil {
		commit = j.Committed.UnixNano()
	}
	if j.Notified != nil {
		note = j.Notified.UnixNano()
	}
	return MeasureStages(commit, note, len(j.Steps), func(i int) (StepKind, int64) {
		return j.Steps[i].Kind, j.Steps[i].Time.UnixNano()
	})
}

// MeasureStages computes the stage durations (Stages order) from a
// journey's commit and notification times (unix ns, 0 = unknown) and its n
// steps, read through step: commit → notify, notify (or commit when no
// notification) → first claim, first claim → first send, last send → ACK,
// ACK → completion. The node's histograms and the monitor both use it.
func MeasureStages(commit, note int64, n int, step func(i int) (StepKind, int64)) (d [5]time.Duration, ok [5]bool) {
	var claim, firstSend, lastSend, ack, done int64
	for i := 0; i < n; i++ {
		k, at := step(i)
		switch k {
		case StepClaim:
			if claim == 0 {
				claim = at
			}
		case StepSend:
			if firstSend == 0 {
				firstSend = at
			}
			lastSend = at
		case StepAck:
			ack = at
		case StepDeleted, StepTombstone, StepRetained:
			if done == 0 { // a tombstone deleted later: the first completion counts
				done = at
			}
		}
	}
	set := func(i int, from, to int64) {
		if from != 0 && to != 0 {
			d[i], ok[i] = time.Duration(max(to-from, 0)), true
		}
	}
	set(0, commit, note)
	if note == 0 {
		set(1, commit, claim)
	} else {
		set(1, note, claim)
	}
	set(2, claim, firstSend)
	set(3, lastSend, ack)
	set(4, ack, done)
	return d, ok
}
