package ablylocal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DebugMessagesPath is a local-only debug route that real Ably does not
// have: GET DebugMessagesPath/{id}?channel=NAME (API key auth; a token is
// refused) answers a DebugMessagesReply: when this endpoint accepted each
// message with that id (connection, serial) and to how many subscribers
// it delivered it. `outbox trace` reads it for the endpoint's side of a
// row's journey. The "_livesync" segment is reserved: Ably channel routes
// all start with /channels, /messages, /keys, /time or /stats.
const DebugMessagesPath = "/_livesync/messages"

// debugMessagesSize bounds the records kept (the oldest are dropped).
const debugMessagesSize = 100000

// MessageRecord is the endpoint's side of one accepted message.
type MessageRecord struct {
	// ID is the message id.
	ID string `json:"id"`
	// Channel is the channel it was published on.
	Channel string `json:"channel"`
	// Accepted is when the endpoint accepted (and stored) it, UTC.
	Accepted time.Time `json:"accepted"`
	// ConnectionID is the publishing realtime connection ("" for REST).
	ConnectionID string `json:"connectionId,omitempty"`
	// Serial is the message's channel serial.
	Serial string `json:"serial"`
	// Delivered counts the subscribed connections it was queued to at once
	// (replays on resume or rewind are not counted).
	Delivered int `json:"delivered"`
}

// DebugMessagesReply is what DebugMessagesPath answers.
type DebugMessagesReply struct {
	// Size is how many records the endpoint keeps.
	Size int `json:"size"`
	// Records are the matching messages, oldest first.
	Records []MessageRecord `json:"records"`
}

// acceptLog is a bounded ring of MessageRecords; the zero value is ready.
type acceptLog struct {
	mu   sync.Mutex
	ring []MessageRecord
	next int
}

// record notes a delivery frame's messages with client-chosen ids.
func (l *acceptLog) record(channel string, f *outFrame, delivered int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range f.msgs {
		if !m.idGiven {
			continue
		}
		r := MessageRecord{ID: m.ID, Channel: channel, Accepted: time.UnixMilli(m.Timestamp).UTC(),
			ConnectionID: f.ConnectionID, Serial: m.Serial, Delivered: delivered}
		if len(l.ring) < debugMessagesSize {
			l.ring = append(l.ring, r)
			continue
		}
		l.ring[l.next] = r
		l.next = (l.next + 1) % debugMessagesSize
	}
}

// find returns the records of id (on channel when not empty), oldest first.
func (l *acceptLog) find(id, channel string) []MessageRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []MessageRecord{}
	for k := 0; k < len(l.ring); k++ {
		r := l.ring[(l.next+k)%len(l.ring)]
		if r.ID == id && (channel == "" || r.Channel == channel) {
			out = append(out, r)
		}
	}
	return out
}

// debugMessages serves DebugMessagesPath; segs are the path's segments.
func (q *restReq) debugMessages(segs []string) {
	if q.isToken {
		q.fail(newErr(40160, 401, "the local debug route "+DebugMessagesPath+" needs the API key (Basic auth), not a token"))
		return
	}
	if q.r.Method != http.MethodGet || len(segs) != 3 || segs[1] != "messages" || segs[2] == "" {
		q.fail(newErr(40400, 404, "no such debug route: "+q.r.Method+" "+q.r.URL.Path+" (the local endpoint serves GET "+DebugMessagesPath+"/{id}?channel=NAME)"))
		return
	}
	q.reply(http.StatusOK, DebugMessagesReply{Size: debugMessagesSize, Records: q.s.accepted.find(segs[2], q.r.URL.Query().Get("channel"))}, "")
}

// FetchMessageRecords asks a local endpoint at base ("http://host:port")
// with API key key what it recorded about message id on channel ("" = any).
func FetchMessageRecords(ctx context.Context, client *http.Client, base, key, channel, id string) (DebugMessagesReply, error) {
	var out DebugMessagesReply
	u := base + DebugMessagesPath + "/" + url.PathEscape(id)
	if channel != "" {
		u += "?channel=" + url.QueryEscape(channel)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return out, err
	}
	name, secret, _ := strings.Cut(key, ":")
	req.SetBasicAuth(name, secret)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return out, fmt.Errorf("%s: %s (code %s)", DebugMessagesPath, e.Error.Message, strconv.Itoa(e.Error.Code))
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
