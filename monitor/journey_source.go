package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/livesync-dev/livesync-dev/connector"
)

// JournalSource is the seam between the monitor and the connector nodes'
// row journals: each node answers a connector.JournalReply, the same
// contract it serves at connector.JournalPath.
type JournalSource interface {
	// Journals returns the replies of every node that answered q.
	Journals(ctx context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error)
}

// InProcessNodes hands the monitor the state and journals of nodes running
// in this process (`up`) directly. It implements ConnectorStates and
// JournalSource.
type InProcessNodes struct {
	// States returns the nodes' states.
	States func(ctx context.Context) ([]connector.NodeState, error)
	// Journeys returns the nodes' journal replies.
	Journeys func(ctx context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error)
}

// NodeStates implements ConnectorStates.
func (p InProcessNodes) NodeStates(ctx context.Context) ([]connector.NodeState, error) {
	return p.States(ctx)
}

// Journals implements JournalSource.
func (p InProcessNodes) Journals(ctx context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error) {
	if p.Journeys == nil {
		return nil, nil
	}
	return p.Journeys(ctx, q)
}

// Journals implements JournalSource for the sources that have journals; a
// node reported twice counts once.
func (cs Connectors) Journals(ctx context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error) {
	var out []connector.JournalReply
	seen := map[string]bool{}
	var errs []error
	for _, c := range cs {
		js, ok := c.(JournalSource)
		if !ok {
			continue
		}
		replies, err := js.Journals(ctx, q)
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range replies {
			if !seen[r.Node] {
				seen[r.Node] = true
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Journals implements JournalSource: it asks every registered node at
// connector.JournalPath; nodes that do not answer are skipped.
func (r NodeRegistry) Journals(ctx context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error) {
	return fetchEach(ctx, r, func(client *http.Client, _, addr string) (connector.JournalReply, error) {
		return FetchJournal(ctx, client, addr, q)
	})
}

// FetchJournal GETs http://addr + connector.JournalPath with q and decodes
// the node's connector.JournalReply.
func FetchJournal(ctx context.Context, client *http.Client, addr string, q connector.JourneyQuery) (connector.JournalReply, error) {
	var rep connector.JournalReply
	if addr == "" {
		return rep, fmt.Errorf("no health address registered")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+connector.JournalPath+"?"+q.Values().Encode(), nil)
	if err != nil {
		return rep, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return rep, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("GET %s: %s", connector.JournalPath, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return rep, fmt.Errorf("GET %s: %w", connector.JournalPath, err)
	}
	return rep, nil
}
