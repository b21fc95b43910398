package view

import (
	"strconv"
	"strings"

	"github.com/rivo/tview"
)

// faultsSegment names the fault rules in force on the local endpoint, in
// the header's first line so nobody forgets one; "" when there are none.
func (o *Overview) faultsSegment() string {
	s := o.app.env.state.Snap
	if s == nil || len(s.Faults) == 0 {
		return ""
	}
	t := &o.app.env.theme
	parts := make([]string, 0, len(s.Faults))
	for _, f := range s.Faults {
		parts = append(parts, f.Rule.String())
	}
	label := "FAULT"
	if len(parts) > 1 {
		label = strconv.Itoa(len(parts)) + " FAULTS"
	}
	return t.paint(t.Err, label+": "+tview.Escape(strings.Join(parts, "; ")))
}
