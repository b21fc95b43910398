package monitor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// decodeData applies an Ably encoding chain ("json", "base64",
// "utf-8/base64", ...) from the right, as ably-go realtime leaves it
// undone. JSON stays a json.RawMessage so numbers keep their text.
func decodeData(data any, encoding string) (any, string) {
	if encoding == "" {
		return data, ""
	}
	steps := strings.Split(encoding, "/")
	for i := len(steps) - 1; i >= 0; i-- {
		switch steps[i] {
		case "base64":
			s, ok := data.(string)
			if !ok {
				return data, "base64 encoding on non-string data"
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return data, "base64: " + err.Error()
			}
			data = b
		case "utf-8":
			if b, ok := data.([]byte); ok {
				data = string(b)
			}
		case "json":
			var raw []byte
			switch v := data.(type) {
			case string:
				raw = []byte(v)
			case []byte:
				raw = v
			default:
				continue // already decoded by the SDK
			}
			if !json.Valid(raw) {
				return data, "json encoding on invalid JSON"
			}
			data = json.RawMessage(raw)
		default:
			return data, "unsupported encoding step " + strconv.Quote(steps[i])
		}
	}
	return data, ""
}

// Endpoint locates an Ably REST endpoint for the channel-status API.
type Endpoint struct {
	// Host is the REST host, e.g. "127.0.0.1" or "rest.ably.io".
	Host string
	// Port is the TCP port (0: 80 or 443).
	Port int
	// TLS selects https.
	TLS bool
	// Key is the API key "appId.keyId:secret" (Basic auth).
	Key string
}

// Occupancy is a channel's occupancy metrics.
type Occupancy struct {
	// Channel is the channel name.
	Channel string `json:"channel"`
	// IsActive is whether the channel is active.
	IsActive bool `json:"isActive"`
	// Connections, Subscribers, Publishers and PresenceMembers count attachments.
	Connections     int `json:"connections"`
	Subscribers     int `json:"subscribers"`
	Publishers      int `json:"publishers"`
	PresenceMembers int `json:"presenceMembers"`
}

// ChannelOccupancy asks the channel-status API (REST GET /channels/{name}).
func ChannelOccupancy(ctx context.Context, ep Endpoint, channel string) (Occupancy, error) {
	occ := Occupancy{Channel: channel}
	scheme := "http"
	if ep.TLS {
		scheme = "https"
	}
	host := ep.Host
	if ep.Port != 0 {
		host += ":" + strconv.Itoa(ep.Port)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/channels/"+url.PathEscape(channel), nil)
	if err != nil {
		return occ, err
	}
	req.Header.Set("Accept", "application/json")
	if ep.Key != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(ep.Key)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return occ, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return occ, fmt.Errorf("GET /channels/%s: %s", channel, resp.Status)
	}
	var body struct {
		Status struct {
			IsActive  bool `json:"isActive"`
			Occupancy struct {
				Metrics struct {
					Connections     int `json:"connections"`
					Subscribers     int `json:"subscribers"`
					Publishers      int `json:"publishers"`
					PresenceMembers int `json:"presenceMembers"`
				} `json:"metrics"`
			} `json:"occupancy"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return occ, fmt.Errorf("GET /channels/%s: %w", channel, err)
	}
	m := body.Status.Occupancy.Metrics
	occ.IsActive, occ.Connections, occ.Subscribers, occ.Publishers, occ.PresenceMembers =
		body.Status.IsActive, m.Connections, m.Subscribers, m.Publishers, m.PresenceMembers
	return occ, nil
}
