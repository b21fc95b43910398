package view_test

import (
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// TestOverviewShowsFaults: fault rules in force appear on the header's
// first line; without any the line is unchanged (the goldens cover that).
func TestOverviewShowsFaults(t *testing.T) {
	b := setup(t, 3, func(o *view.Options) {})
	b.src.Snap.Faults = []fault.Active{{Rule: fault.Rule{ID: "f1", Channel: "demo:*", Code: 40160}},
		{Rule: fault.Rule{ID: "f2", DelayAck: fault.Duration(2 * time.Second)}}}
	b.app.Refresh()
	first := strings.SplitN(b.screenText(t), "\n", 2)[0]
	if !strings.Contains(first, "2 FAULTS: demo:* refuse 40160; * delay ACK 2s") {
		t.Fatalf("header %q lacks the faults", first)
	}
	b.src.Snap.Faults = nil
	b.app.Refresh()
	if first := strings.SplitN(b.screenText(t), "\n", 2)[0]; strings.Contains(first, "FAULT") {
		t.Fatalf("header %q still shows faults", first)
	}
}
