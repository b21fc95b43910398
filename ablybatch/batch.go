// Package ablybatch is the wire shape of Ably's REST batch publish
// (POST /messages) as one typed definition used by both sides that must
// agree: the local endpoint (ablylocal), which answers it, and the
// connector's rest-batch publish mode, which sends it and reads each
// channel's result.
//
// The answer depends on the request's X-Ably-Version header, as on Ably:
//
//   - version 3 and later (and no header): HTTP 201 with one Result per
//     BatchPublishSpec, failures inside ({channel, error}); a partial
//     failure is still 201.
//   - versions before 3 (ably-go v1.3.0's REST.Request sends 2): for one
//     spec the array of per-channel results, for an array of specs an array
//     of those; a partial failure is HTTP 400 with error 40020 and the
//     results only inside LegacyErrorBody.BatchResponse.
//
// The connector needs every row's own error code, so it sends Version.
package ablybatch

import (
	"net/http"
	"strconv"
	"strings"
)

// Path is the batch publish path.
const Path = "/messages"

// VersionHeader is the header naming the REST API version of a request.
const VersionHeader = "X-Ably-Version"

// Version is the X-Ably-Version whose batch answer carries each channel's
// result (or error) directly in a 201 Result array.
const Version = "3"

// CodeBatchError is Ably's 40020 ("batched response includes errors"),
// the whole-request error of a legacy partial failure.
const CodeBatchError = 40020

// Legacy reports whether the request asks for a REST API version before 3,
// whose batch publish answers with per-channel results rather than Result
// objects. No header (or one that is not a number) means the current shape.
func Legacy(h http.Header) bool {
	v, err := strconv.Atoi(strings.TrimSpace(h.Get(VersionHeader)))
	return err == nil && v < 3
}

// Spec is one BatchPublishSpec as a client sends it: the messages are
// published to every channel. (The endpoint also accepts a single channel
// string and a single message object, as Ably does.)
type Spec struct {
	Channels []string  `json:"channels" msgpack:"channels"`
	Messages []Message `json:"messages" msgpack:"messages"`
}

// Message is a message of a Spec.
type Message struct {
	ID       string         `json:"id,omitempty" msgpack:"id,omitempty"`
	Name     string         `json:"name,omitempty" msgpack:"name,omitempty"`
	Data     any            `json:"data,omitempty" msgpack:"data,omitempty"`
	Encoding string         `json:"encoding,omitempty" msgpack:"encoding,omitempty"`
	Extras   map[string]any `json:"extras,omitempty" msgpack:"extras,omitempty"`
}

// Result is one BatchResult (version 3): the outcome of one Spec.
type Result struct {
	SuccessCount int             `json:"successCount" msgpack:"successCount"`
	FailureCount int             `json:"failureCount" msgpack:"failureCount"`
	Results      []ChannelResult `json:"results" msgpack:"results"`
}

// ChannelResult is one channel's outcome: {channel, messageId, serials} on
// success ({channel, messageId} in the legacy shape), {channel, error} on
// failure.
type ChannelResult struct {
	Channel   string     `json:"channel" msgpack:"channel"`
	MessageID string     `json:"messageId,omitempty" msgpack:"messageId,omitempty"`
	Serials   []string   `json:"serials,omitempty" msgpack:"serials,omitempty"`
	Error     *ErrorInfo `json:"error,omitempty" msgpack:"error,omitempty"`
}

// ErrorInfo is an Ably error as it appears on the wire.
type ErrorInfo struct {
	Code       int    `json:"code" msgpack:"code"`
	StatusCode int    `json:"statusCode" msgpack:"statusCode"`
	Message    string `json:"message" msgpack:"message"`
	Href       string `json:"href,omitempty" msgpack:"href,omitempty"`
}

// ErrorBody is the body of a whole-request error: {"error": {...}}.
type ErrorBody struct {
	Error *ErrorInfo `json:"error" msgpack:"error"`
}

// LegacyErrorBody is the legacy (version < 3) partial-failure body: error
// 40020 plus the per-channel results ([]ChannelResult for one spec,
// [][]ChannelResult for an array of specs).
type LegacyErrorBody struct {
	Error         *ErrorInfo `json:"error" msgpack:"error"`
	BatchResponse any        `json:"batchResponse" msgpack:"batchResponse"`
}
