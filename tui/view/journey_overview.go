package view

import (
	"fmt"

	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/connector"
)

// stageWords name each stage by where a row arrives: commit→notify is
// "notify", notify→claim "claim", and so on.
var stageWords = map[connector.Stage]string{
	connector.StageCommitNotify: "notify", connector.StageNotifyClaim: "claim", connector.StageClaimPublish: "publish",
	connector.StagePublishAck: "ack", connector.StageAckComplete: "done",
}

// stagesSegment renders the per-stage latencies our nodes report
// (connector.NodeState.Stages over their recent rows) as "Stages p50/p99
// notify 0.3/1.1ms claim …", taking the slowest node's figure per stage;
// at most width columns (p50 only when the full form does not fit; "" when
// nothing fits or no node measured a row).
func (o *Overview) stagesSegment(width int) string {
	s := o.app.env.state.Snap
	if s == nil || width <= 0 {
		return ""
	}
	worst := map[connector.Stage]connector.StageLatency{}
	for _, n := range s.Connectors {
		for _, st := range n.Stages {
			w := worst[st.Stage]
			if st.Count == 0 {
				continue
			}
			w.Stage, w.Count = st.Stage, w.Count+st.Count
			w.P50, w.P99 = max(w.P50, st.P50), max(w.P99, st.P99)
			worst[st.Stage] = w
		}
	}
	if len(worst) == 0 {
		return ""
	}
	t := &o.app.env.theme
	for _, full := range []bool{true, false} {
		head := "Stages p50"
		if full {
			head += "/p99"
		}
		seg := head
		for _, st := range connector.Stages {
			w, ok := worst[st]
			if !ok {
				continue
			}
			v := fmtStage(w.P50)
			if full {
				v += "/" + fmtStage(w.P99)
			}
			seg += " " + stageWords[st] + " " + v + "ms"
		}
		if len(seg) <= width {
			return t.paint(t.Dim, seg)
		}
	}
	return ""
}

// fmtStage renders milliseconds compactly: 0.31, 4.2, 120.
func fmtStage(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.2f", ms)
}

// withStages appends the stage segment to an overview line when it fits
// in width columns.
func (o *Overview) withStages(line string, width int) string {
	used := tview.TaggedStringWidth(line) + 2
	if seg := o.stagesSegment(width - used); seg != "" {
		return line + "  " + seg
	}
	return line
}
