package cli

import (
	"context"

	"github.com/livesync-dev/livesync-dev/connector"
)

// nodeJournals hands the monitor the in-process nodes' journals directly
// (other processes' nodes are read over HTTP through the registry).
func (s *upStack) nodeJournals(_ context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error) {
	s.mu.Lock()
	g := s.group
	s.mu.Unlock()
	if g == nil {
		return nil, nil
	}
	out := make([]connector.JournalReply, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		out = append(out, n.Journeys(q))
	}
	return out, nil
}
