package view

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// mongoSegment renders each Mongo connector of the snapshot on the nodes
// line: stream state, events/s, resume-token age, events skipped for
// 72004, and the error code and reason when the monitor finds it stuck;
// "" when no Mongo connector reports.
func (o *Overview) mongoSegment() string {
	snap := o.app.env.state.Snap
	if snap == nil {
		return ""
	}
	t := &o.app.env.theme
	stuck := map[string]monitor.StuckConnector{}
	for _, sc := range snap.StuckConnectors {
		stuck[sc.Node] = sc
	}
	var segs []string
	for _, n := range snap.Connectors {
		s := n.Mongo
		if n.Kind != connector.KindMongo || s == nil {
			continue
		}
		col := t.OK
		switch s.Stream {
		case connector.MongoStuck:
			col = t.Err
		case connector.MongoRetrying, connector.MongoStarting:
			col = t.Warn
		}
		seg := "Mongo " + t.paint(col, string(s.Stream)) + " " + fmtRate(&s.EventsPerSecond)
		if s.TokenStored != nil {
			seg += " token " + fmtAge(s.TokenAgeSeconds)
		} else {
			seg += " token –"
		}
		if s.SkippedNoChannel > 0 {
			seg += " " + t.paint(t.Warn, "no-channel "+strconv.FormatInt(s.SkippedNoChannel, 10))
		}
		if sc, ok := stuck[n.Node]; ok {
			seg += " " + t.paint(t.Err, fmt.Sprintf("error %d %s", sc.ErrorCode, sc.Reason))
		}
		segs = append(segs, seg)
	}
	return strings.Join(segs, "  ")
}

// connectorDiagnosis is the Diagnosis pane's text for the connectors the
// monitor finds stuck (a Mongo change stream on 72008, 72007, ...); ""
// when none is.
func connectorDiagnosis(snap *monitor.Snapshot) string {
	if snap == nil {
		return ""
	}
	var b strings.Builder
	for _, sc := range snap.StuckConnectors {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "Connector %s (%s) [%s]: %s", sc.Node, sc.Source, sc.Reason, sc.Detail)
		if sc.Action != "" {
			b.WriteString("\n→ " + sc.Action)
		}
		if sc.ErrorCode != 0 {
			fmt.Fprintf(&b, "\nerror %d: %s", sc.ErrorCode, sc.ErrorMessage)
		}
	}
	return b.String()
}

// diagnosisHeight is the Diagnosis pane's height: taller while a connector
// is stuck, so its diagnosis shows beside the selected row's.
func diagnosisHeight(conns string) int {
	if conns == "" {
		return 5
	}
	return 12
}
