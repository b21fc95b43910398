package mongo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ably/ably-go/ably"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Routing fields read from the root of the (post-pipeline) change event.
const (
	// FieldChannel (required string) is the Ably channel.
	FieldChannel = "_ablyChannel"
	// FieldName (optional string) is the message name.
	FieldName = "_ablyMsgName"
	// FieldHeaders (optional object of string → string) is extras.headers.
	FieldHeaders = "_ablyMsgHeaders"
)

// Data encodings of the published change event (Extended JSON flavours).
const (
	// EncodingRelaxed is relaxed Extended JSON (dates as ISO strings,
	// numbers as JSON numbers where exact): the default.
	EncodingRelaxed = "relaxed"
	// EncodingCanonical is canonical Extended JSON (every BSON type tagged).
	EncodingCanonical = "canonical"
)

// Mapped is one change event as it is published.
type Mapped struct {
	// Channel is the Ably channel (from _ablyChannel).
	Channel string
	// Message is the Ably message: id from the resume token, name, data =
	// the whole event as Extended JSON text with encoding "json", headers.
	Message *ably.Message
	// Warnings list routing fields that were ignored and why.
	Warnings []string
}

// MessageID derives the message id from a change event's _id (its resume
// token): the same event replayed after a restart gets the same id, so
// Ably's idempotent publish drops the duplicate.
func MessageID(token bson.Raw) string {
	src := []byte(token)
	if v, err := token.LookupErr("_data"); err == nil {
		if s, ok := v.StringValueOK(); ok {
			src = []byte(s)
		}
	}
	sum := sha256.Sum256(src)
	return "mongo:" + hex.EncodeToString(sum[:16])
}

// Map turns a change event into its message. An event without a string
// _ablyChannel on its root is error 72004 (the caller skips it); an event
// without an _id (resume token) is 72000.
func Map(event bson.Raw, encoding string) (Mapped, error) {
	idVal, err := event.LookupErr("_id")
	token, ok := idVal.DocumentOK()
	if err != nil || !ok {
		return Mapped{}, &Error{Code: CodeInternal, Message: "change event has no _id (resume token) document; does the pipeline remove it?"}
	}
	id := MessageID(token)
	var m Mapped
	ch, err := event.LookupErr(FieldChannel)
	if err != nil {
		return Mapped{}, &Error{Code: CodeNoChannel, Message: "no channel key in message " + id}
	}
	if m.Channel, ok = ch.StringValueOK(); !ok || m.Channel == "" {
		return Mapped{}, &Error{Code: CodeNoChannel, Message: fmt.Sprintf("no channel key in message %s (%s is a %s, not a non-empty string)", id, FieldChannel, ch.Type)}
	}
	data, err := bson.MarshalExtJSON(event, encoding == EncodingCanonical, false)
	if err != nil {
		return Mapped{}, &Error{Code: CodeInternal, Message: "cannot encode change event " + id + " as Extended JSON", Err: err}
	}
	m.Message = &ably.Message{ID: id, Data: string(data), Encoding: "json"}
	if v, err := event.LookupErr(FieldName); err == nil {
		if s, ok := v.StringValueOK(); ok {
			m.Message.Name = s
		} else {
			m.Warnings = append(m.Warnings, fmt.Sprintf("message %s: %s is a %s, not a string: no name set", id, FieldName, v.Type))
		}
	}
	if v, err := event.LookupErr(FieldHeaders); err == nil {
		headers, warns := mapHeaders(id, v)
		m.Warnings = append(m.Warnings, warns...)
		if len(headers) > 0 {
			m.Message.Extras = map[string]any{"headers": headers}
		}
	}
	return m, nil
}

// mapHeaders reads _ablyMsgHeaders: string values are kept, others dropped
// with a warning (Ably headers are a flat map of strings).
func mapHeaders(id string, v bson.RawValue) (map[string]any, []string) {
	doc, ok := v.DocumentOK()
	if !ok {
		return nil, []string{fmt.Sprintf("message %s: %s is a %s, not an object: no headers set", id, FieldHeaders, v.Type)}
	}
	elems, err := doc.Elements()
	if err != nil {
		return nil, []string{fmt.Sprintf("message %s: %s: %v", id, FieldHeaders, err)}
	}
	headers := map[string]any{}
	var warns []string
	for _, e := range elems {
		s, ok := e.Value().StringValueOK()
		if !ok {
			warns = append(warns, fmt.Sprintf("message %s: header %q is a %s, not a string: dropped", id, e.Key(), e.Value().Type))
			continue
		}
		headers[e.Key()] = s
	}
	return headers, warns
}
