package monitor

import (
	"fmt"
	"strconv"
	"strings"
)

// JourneyLineKind says what a line of a rendered journey is, so a
// terminal can colour it (the text is the same everywhere).
type JourneyLineKind string

// The kinds of journey lines.
const (
	// LineHead names the row and where it is (or says it is nowhere).
	LineHead JourneyLineKind = "head"
	// LineDiagnosis is the diagnosis of a stuck row (and its fix).
	LineDiagnosis JourneyLineKind = "diagnosis"
	// LineColumns is the column header of the stage lines.
	LineColumns JourneyLineKind = "columns"
	// LineStage is one stage.
	LineStage JourneyLineKind = "stage"
	// LineSlowest is the stage that took longest since the previous one.
	LineSlowest JourneyLineKind = "slowest"
	// LineError is a stage that went wrong (nack, no-ack, blocked, lock-lost).
	LineError JourneyLineKind = "error"
	// LineNote is the summary and notes below the stages.
	LineNote JourneyLineKind = "note"
)

// JourneyLine is one rendered line of a journey.
type JourneyLine struct {
	// Kind says what the line is.
	Kind JourneyLineKind
	// Text is the plain text.
	Text string
}

// Lines renders the journey as plain lines: the row, the diagnosis of a
// stuck row, one line per stage with the time, the time since commit and
// the delta from the previous stage (the slowest marked), then the
// delivery count, the nodes and the notes. `outbox trace` prints them and
// the dashboard's journey view colours them by kind.
func (j *Journey) Lines() []JourneyLine {
	if !j.Found {
		what := "row " + strconv.FormatInt(j.Query.SequenceID, 10)
		if j.Query.SequenceID == 0 {
			what = "mutation " + j.Query.MutationID
		}
		return []JourneyLine{{LineHead, what + ": " + j.Message}}
	}
	var out []JourneyLine
	add := func(k JourneyLineKind, s string) { out = append(out, JourneyLine{k, s}) }
	head := fmt.Sprintf("row %d on %s (name %s, mutation %s): %s", j.SequenceID, j.Channel, j.Name, j.MutationID, journeyStatusText(j.Status))
	if j.RejectHeader != "" {
		head += "; rejected (" + j.RejectHeader + ")"
	}
	add(LineHead, head)
	if d := j.Diagnosis; d != nil {
		add(LineDiagnosis, fmt.Sprintf("STUCK (%s): %s", d.Reason, d.Detail))
		add(LineDiagnosis, "  fix: "+d.Action)
		if d.FixSQL != "" {
			add(LineDiagnosis, "  sql: "+d.FixSQL)
		}
	}
	add(LineColumns, fmt.Sprintf("%-10s %-15s %10s %10s  %-8s %s", "STAGE", "TIME (UTC)", "+COMMIT", "DELTA", "NODE", "DETAIL"))
	for _, s := range j.Stages {
		since := "-"
		if s.SinceCommitMs != nil {
			since = FormatMs(*s.SinceCommitMs)
		}
		node := s.Node
		if len(node) > 8 {
			node = node[:8]
		}
		line := fmt.Sprintf("%-10s %-15s %10s %10s  %-8s %s", s.Stage, s.Time.Format("15:04:05.000000"), since, FormatMs(s.DeltaMs), node, s.Detail)
		kind := LineStage
		switch s.Stage {
		case "nack", "no-ack", "blocked", "lock-lost":
			kind = LineError
		}
		if s.Slowest {
			line += "  <- slowest"
			kind = LineSlowest
		}
		add(kind, strings.TrimRight(line, " "))
	}
	if j.Delivered != nil {
		add(LineNote, fmt.Sprintf("delivered to %d subscriber(s) by the local endpoint", *j.Delivered))
	}
	if len(j.Nodes) > 1 {
		add(LineNote, "nodes: "+strings.Join(j.Nodes, ", "))
	}
	if len(j.OtherRows) > 0 {
		add(LineNote, fmt.Sprintf("other rows with this mutation id: %v", j.OtherRows))
	}
	for _, n := range j.Notes {
		add(LineNote, "note: "+n)
	}
	return out
}

// journeyStatusText says in words where the row is.
func journeyStatusText(s string) string {
	switch s {
	case "gone":
		return "gone from the outbox (deleted after publishing)"
	case "processed":
		return "processed (kept as the tombstone)"
	case "locked":
		return "in the outbox, locked by a node"
	case "pending":
		return "in the outbox, waiting"
	}
	return s
}

// FormatMs renders milliseconds for a journey line: 0.42ms, 350ms, 12.3s.
func FormatMs(ms float64) string {
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}
