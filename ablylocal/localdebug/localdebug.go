// Package localdebug is the contract of the local Ably endpoint's
// debug route (one definition, used by the endpoint that serves it and by
// the monitor that reads it): a route real Ably does not have.
package localdebug

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MessagesPath is a local-only debug route that real Ably does not
// have: GET MessagesPath/{id}?channel=NAME (API key auth; a token is
// refused) answers a MessagesReply: when this endpoint accepted each
// message with that id (connection, serial) and to how many subscribers
// it delivered it. `outbox trace` reads it for the endpoint's side of a
// row's journey. The "_livesync" segment is reserved: Ably channel routes
// all start with /channels, /messages, /keys, /time or /stats.
const MessagesPath = "/_livesync/messages"

// Size is how many accepted messages the endpoint remembers.
const Size = 100000

// MessageRecord is the endpoint's side of one accepted message.
type MessageRecord struct {
	// ID is the message id.
	ID string `json:"id"`
	// Channel is the channel it was published on.
	Channel string `json:"channel"`
	// Accepted is when the endpoint accepted (and stored) it, UTC, with
	// the endpoint's full clock precision (the message timestamp has ms).
	Accepted time.Time `json:"accepted"`
	// ConnectionID is the publishing realtime connection ("" for REST).
	ConnectionID string `json:"connectionId,omitempty"`
	// Serial is the message's channel serial.
	Serial string `json:"serial"`
	// Delivered counts the subscribed connections it was queued to at once
	// (replays on resume or rewind are not counted).
	Delivered int `json:"delivered"`
}

// MessagesReply is what MessagesPath answers.
type MessagesReply struct {
	// Size is how many records the endpoint keeps.
	Size int `json:"size"`
	// Records are the matching messages, oldest first.
	Records []MessageRecord `json:"records"`
}

// FetchMessages asks a local endpoint at base ("http://host:port")
// with API key key what it recorded about message id on channel ("" = any).
func FetchMessages(ctx context.Context, client *http.Client, base, key, channel, id string) (MessagesReply, error) {
	var out MessagesReply
	u := base + MessagesPath + "/" + url.PathEscape(id)
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
		return out, fmt.Errorf("%s: %s (code %s)", MessagesPath, e.Error.Message, strconv.Itoa(e.Error.Code))
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
