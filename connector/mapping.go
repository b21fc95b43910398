package connector

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ably/ably-go/ably"
)

// Header names the connector sets in extras.headers (Models SDK contract).
const (
	// HeaderEventUUID carries the row's mutation_id.
	HeaderEventUUID = "x-ably-models-event-uuid"
	// HeaderReject is "true" on rows with rejected = true.
	HeaderReject = "x-ably-models-reject"
)

// Row is one outbox row as the connector publishes it.
type Row struct {
	// SequenceID is the outbox primary key; it becomes the message id.
	SequenceID int64
	// MutationID correlates with the client's optimistic event.
	MutationID string
	// Channel is the Ably channel.
	Channel string
	// Name is the message name.
	Name string
	// Rejected marks a rejection of the client's mutation (application data).
	Rejected bool
	// Data is the jsonb value's text; nil for SQL NULL.
	Data []byte
	// Headers is the headers jsonb text; nil for SQL NULL.
	Headers []byte
}

// Message maps a row to the one Ably message it is published as: id =
// sequence_id in decimal, name, data = the JSON text with encoding "json"
// (objects, arrays and scalars alike; SQL NULL → no data), extras.headers =
// the row's headers plus the connector's headers. warnings lists user
// headers the connector's values overrode, or headers that are not a JSON
// object (those are ignored).
func Message(r Row) (msg *ably.Message, warnings []string) {
	headers := map[string]any{}
	if len(r.Headers) > 0 && string(r.Headers) != "null" {
		if err := json.Unmarshal(r.Headers, &headers); err != nil {
			headers = map[string]any{}
			warnings = append(warnings, fmt.Sprintf("row %d: headers are not a JSON object, ignored: %v", r.SequenceID, err))
		}
	}
	set := func(k, v string) {
		if old, ok := headers[k]; ok && old != v {
			warnings = append(warnings, fmt.Sprintf("row %d: user header %s=%v replaced by the connector's %q", r.SequenceID, k, old, v))
		}
		headers[k] = v
	}
	set(HeaderEventUUID, r.MutationID)
	if r.Rejected {
		set(HeaderReject, "true")
	} else if old, ok := headers[HeaderReject]; ok {
		delete(headers, HeaderReject)
		warnings = append(warnings, fmt.Sprintf("row %d: user header %s=%v removed: the row is not rejected", r.SequenceID, HeaderReject, old))
	}
	msg = &ably.Message{
		ID:     strconv.FormatInt(r.SequenceID, 10),
		Name:   r.Name,
		Extras: map[string]any{"headers": headers},
	}
	if r.Data != nil {
		msg.Data = string(r.Data)
		msg.Encoding = "json"
	}
	return msg, warnings
}
