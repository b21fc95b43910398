package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ChannelError is what a connector knows about one channel that is not
// publishing: the row at its head, how often it was tried and the last Ably
// error.
type ChannelError struct {
	// Channel is the channel name.
	Channel string `json:"channel"`
	// Owner is the node that owns the channel.
	Owner string `json:"owner"`
	// SequenceID is the failing head row (0 when unknown).
	SequenceID int64 `json:"sequenceId"`
	// Attempts is how many publishes of the head row failed.
	Attempts int `json:"attempts"`
	// Blocked is true when the channel is stopped behind the head row.
	Blocked bool `json:"blocked"`
	// Code is the last Ably error code (e.g. 40009, 42913); 0 when none.
	Code int `json:"code"`
	// Message is the last Ably error message.
	Message string `json:"message"`
}

// ConnectorStates is the seam between the monitor and the connectors it can
// ask about publish failures. Only connectors of ours implement it; against
// a database served by someone else's connector there is none.
type ConnectorStates interface {
	// ChannelErrors returns the channels whose head row is failing, by name.
	ChannelErrors(ctx context.Context) (map[string]ChannelError, error)
}

// NodeRegistry reads the connector nodes registered in a sandbox
// (.livesync/nodes/<id>.json, each with the node's health address) and asks
// each one's GET /debug/state. It implements ConnectorStates.
type NodeRegistry struct {
	// Dir is the .livesync/nodes directory.
	Dir string
	// Client makes the requests; nil means a client with a 2s timeout.
	Client *http.Client
}

// registeredNode is one .livesync/nodes/<id>.json file.
type registeredNode struct {
	ID            string `json:"id"`
	HealthAddr    string `json:"healthAddr"`
	HealthAddress string `json:"healthAddress"`
}

// Nodes returns the registered node ids and health addresses, by id.
func (r NodeRegistry) Nodes() (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(r.Dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a node removing its file while we read
		}
		var n registeredNode
		if json.Unmarshal(b, &n) != nil {
			continue
		}
		if n.ID == "" {
			n.ID = strings.TrimSuffix(filepath.Base(f), ".json")
		}
		if n.HealthAddr == "" {
			n.HealthAddr = n.HealthAddress
		}
		out[n.ID] = n.HealthAddr
	}
	return out, nil
}

// NodeIDs returns the registered node ids, sorted (the monitor's OwnNodes).
func (r NodeRegistry) NodeIDs() []string {
	nodes, _ := r.Nodes()
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// debugState is the part of a node's /debug/state the monitor reads. The
// connector's format is not fixed yet; both a list and a map of channels are
// accepted, with the error flat or nested.
type debugState struct {
	Channels json.RawMessage `json:"channels"`
}

// debugChannel is one channel entry of /debug/state.
type debugChannel struct {
	Channel        string `json:"channel"`
	Owner          string `json:"owner"`
	HeadSequenceID int64  `json:"headSequenceId"`
	Attempts       int    `json:"attempts"`
	Blocked        bool   `json:"blocked"`
	LastErrorCode  int    `json:"lastErrorCode"`
	LastErrorMsg   string `json:"lastErrorMessage"`
	LastError      *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"lastError"`
}

// ChannelErrors implements ConnectorStates. Nodes that do not answer are
// skipped; the error is non-nil only when no registered node answered.
func (r NodeRegistry) ChannelErrors(ctx context.Context) (map[string]ChannelError, error) {
	nodes, err := r.Nodes()
	if err != nil {
		return nil, err
	}
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	out := map[string]ChannelError{}
	var lastErr error
	answered := 0
	for id, addr := range nodes {
		chans, err := fetchDebugState(ctx, client, addr)
		if err != nil {
			lastErr = fmt.Errorf("node %s at %s: %w", id, addr, err)
			continue
		}
		answered++
		for _, c := range chans {
			code, msg := c.LastErrorCode, c.LastErrorMsg
			if c.LastError != nil {
				code, msg = c.LastError.Code, c.LastError.Message
			}
			if code == 0 && !c.Blocked {
				continue
			}
			if c.Owner == "" {
				c.Owner = id
			}
			out[c.Channel] = ChannelError{Channel: c.Channel, Owner: c.Owner, SequenceID: c.HeadSequenceID,
				Attempts: c.Attempts, Blocked: c.Blocked, Code: code, Message: msg}
		}
	}
	if answered == 0 && lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

// fetchDebugState GETs http://addr/debug/state and returns its channels.
func fetchDebugState(ctx context.Context, client *http.Client, addr string) ([]debugChannel, error) {
	if addr == "" {
		return nil, fmt.Errorf("no health address registered")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/state", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /debug/state: %s", resp.Status)
	}
	var st debugState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("GET /debug/state: %w", err)
	}
	var list []debugChannel
	if json.Unmarshal(st.Channels, &list) == nil {
		return list, nil
	}
	var byName map[string]debugChannel
	if err := json.Unmarshal(st.Channels, &byName); err != nil {
		return nil, fmt.Errorf("GET /debug/state: channels: %w", err)
	}
	for name, c := range byName {
		if c.Channel == "" {
			c.Channel = name
		}
		list = append(list, c)
	}
	return list, nil
}
