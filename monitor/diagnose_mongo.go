package monitor

import (
	"fmt"
	"sort"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// The reasons a connector (rather than an outbox row) is not moving: the
// Mongo change-stream connector's (connector spec §5).
const (
	// HistoryLost (72008): the stored resume token is no longer in the
	// oplog; the stream cannot resume, and changes since the token may not
	// have been published.
	HistoryLost Reason = "history-lost"
	// TokenUnreadable (72006): the stored resume token cannot be read.
	TokenUnreadable Reason = "token-unreadable"
	// TokenStoreFailing (72007): the resume token cannot be stored; events
	// still flow, but a restart replays everything since the last stored
	// token.
	TokenStoreFailing Reason = "token-store-failing"
	// StreamFailing (72003): the change stream cannot be started; the
	// connector reopens it with backoff.
	StreamFailing Reason = "stream-failing"
)

// StuckConnector is a connector of ours that is not moving, with the same
// reason, detail and action as a stuck outbox row.
type StuckConnector struct {
	// Node is the connector node (connector.NodeState.Node).
	Node string `json:"node"`
	// Kind is its connector.NodeState.Kind ("mongo").
	Kind string `json:"kind"`
	// Source is what it reads: "<database>.<collection>" for Mongo.
	Source string `json:"source"`
	// Reason is one of the fixed reasons.
	Reason Reason `json:"reason"`
	// Detail is one sentence saying what was found.
	Detail string `json:"detail"`
	// Action says what to do.
	Action string `json:"action"`
	// ErrorCode is the LiveSync error code (72003, 72006, 72007, 72008).
	ErrorCode int `json:"errorCode,omitempty"`
	// ErrorMessage is the connector's error message.
	ErrorMessage string `json:"errorMessage,omitempty"`
	// Since is when the connector last reported the error, or nil.
	Since *time.Time `json:"since,omitempty"`
}

// noChannelCode is Mongo's "no _ablyChannel" error: events are skipped,
// not stuck.
const noChannelCode = 72004

// diagnoseConnectors gives each Mongo connector that is not moving a
// reason, from its connector.NodeState (the detail and action are the
// connector's own, which knows the database and rule), and notes events it
// skipped for a missing _ablyChannel (72004).
func diagnoseConnectors(states []connector.NodeState) (stuck []StuckConnector, notes []string) {
	stuck = []StuckConnector{}
	for _, n := range states {
		m := n.Mongo
		if n.Kind != connector.KindMongo || m == nil {
			continue
		}
		sc := StuckConnector{Node: n.Node, Kind: n.Kind, Source: m.Database + "." + m.Collection, Detail: m.Detail, Action: m.Action}
		if e := m.LastError; e != nil {
			sc.ErrorCode, sc.ErrorMessage = e.Code, e.Message
			at := e.Time
			sc.Since = &at
		}
		switch {
		case m.Stream == connector.MongoStuck && sc.ErrorCode == 72008:
			sc.Reason = HistoryLost
		case m.Stream == connector.MongoStuck && sc.ErrorCode == 72006:
			sc.Reason = TokenUnreadable
		case m.Stream == connector.MongoRetrying:
			sc.Reason = StreamFailing
		case m.TokenStoreFailing:
			sc.Reason = TokenStoreFailing
			if sc.ErrorCode != 72007 {
				sc.ErrorCode, sc.ErrorMessage, sc.Since = 72007, m.Detail, nil
			}
		case m.Stream == connector.MongoStuck:
			sc.Reason = Waiting // a stuck stream with an error of no known reason
		}
		if sc.Reason != "" {
			if sc.Detail == "" {
				sc.Detail = fmt.Sprintf("the %s connector on %s is %s", n.Kind, sc.Source, m.Stream)
			}
			if sc.Action == "" {
				sc.Action = "see the connector's log for the error"
			}
			stuck = append(stuck, sc)
		}
		if m.SkippedNoChannel > 0 {
			notes = append(notes, fmt.Sprintf("the mongo connector %s skipped %d change event(s) without a root _ablyChannel (%d): set it in mongo.pipeline, e.g. [{\"$set\": {\"_ablyChannel\": \"orders\"}}] (a field of the document appears under fullDocument and does not count)",
				n.Node, m.SkippedNoChannel, noChannelCode))
		}
	}
	sort.Slice(stuck, func(i, j int) bool { return stuck[i].Node < stuck[j].Node })
	return stuck, notes
}
