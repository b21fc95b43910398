package ablylocal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/livesync-dev/livesync-dev/ablybatch"
)

// publishResult is the 201 body of a REST publish (§5.3).
type publishResult struct {
	Channel   string   `json:"channel" msgpack:"channel"`
	MessageID string   `json:"messageId" msgpack:"messageId"`
	Serials   []string `json:"serials" msgpack:"serials"`
}

// publish handles POST /channels/{name}/messages.
func (q *restReq) publish(name string) {
	body, ok := q.readBody()
	if !ok {
		return
	}
	in, err := decodeMessages(bodyFormat(q.r), body)
	if err != nil {
		q.fail(newErr(40000, 400, "cannot decode the published messages ("+bodyFormat(q.r).String()+"): "+err.Error()))
		return
	}
	res, perr := q.publishTo(name, in)
	if perr != nil {
		q.fail(perr)
		return
	}
	q.reply(http.StatusCreated, res, "")
}

// publishTo validates and publishes REST messages on one channel.
func (q *restReq) publishTo(name string, in []inMessage) (*publishResult, *errorInfo) {
	if e := validateChannelName(name); e != nil {
		return nil, e
	}
	if !q.ident.Capability.Allows(name, "publish") {
		return nil, newErr(40160, 401, "publish to channel "+strconv.Quote(name)+" denied: the capability lacks \"publish\" for it")
	}
	if len(in) == 0 {
		return nil, newErr(40000, 400, "no messages to publish: send a Message object or a non-empty array")
	}
	connID := ""
	if k := in[0].ConnectionKey; k != "" {
		c := q.s.connByKey(k)
		if c == nil {
			return nil, newErr(40006, 400, "message connectionKey does not match a live connection on this endpoint")
		}
		connID = c.id
	}
	msgs, err := q.s.prepareMessages(in, q.clientID, q.isToken, connID, randomID(9))
	if err != nil {
		return nil, err
	}
	serials, _, perr := q.s.publish(name, msgs, nil, "")
	if perr != nil {
		return nil, perr
	}
	return &publishResult{Channel: name, MessageID: msgs[0].ID, Serials: serials}, nil
}

// connByKey finds a live connection by its connectionKey.
func (s *Server) connByKey(key string) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.key == key {
			return c
		}
	}
	return nil
}

// maxBatchBody bounds a batch publish body (Ably allows 2 MiB).
const maxBatchBody = 2 << 20

// batchSpec is one BatchPublishSpec as received.
type batchSpec struct {
	Channels []string
	Messages []inMessage
}

// batchPublish handles POST /messages (§11). The answer's shape depends on
// X-Ably-Version, as on Ably (see package ablybatch, the one definition of
// the wire shape shared with the connector's rest-batch mode).
func (q *restReq) batchPublish() {
	body, ok := q.readBodyLimit(maxBatchBody)
	if !ok {
		return
	}
	specs, isArray, err := decodeBatch(bodyFormat(q.r), body)
	if err != nil {
		q.fail(newErr(40000, 400, "cannot decode the batch publish body: "+err.Error()+" (send {\"channels\":[...],\"messages\":[...]} or an array of them)"))
		return
	}
	if len(specs) == 0 {
		q.fail(newErr(40000, 400, "empty batch publish: send at least one {\"channels\":[...],\"messages\":[...]}"))
		return
	}
	results := make([]ablybatch.Result, len(specs))
	for i, spec := range specs {
		if len(spec.Channels) == 0 || len(spec.Channels) > 100 {
			q.fail(newErr(40000, 400, "batch spec "+strconv.Itoa(i)+" has "+strconv.Itoa(len(spec.Channels))+" channels; send between 1 and 100"))
			return
		}
		r := ablybatch.Result{Results: []ablybatch.ChannelResult{}}
		for _, ch := range spec.Channels {
			msgs := append([]inMessage(nil), spec.Messages...)
			res, perr := q.publishTo(ch, msgs)
			if perr != nil {
				r.FailureCount++
				r.Results = append(r.Results, ablybatch.ChannelResult{Channel: ch, Error: wireError(perr)})
				continue
			}
			r.SuccessCount++
			r.Results = append(r.Results, ablybatch.ChannelResult{Channel: res.Channel, MessageID: res.MessageID, Serials: res.Serials})
		}
		results[i] = r
	}
	if ablybatch.Legacy(q.r.Header) {
		q.replyLegacyBatch(results, isArray)
		return
	}
	q.reply(http.StatusCreated, results, "")
}

// wireError is e in the batch wire shape.
func wireError(e *errorInfo) *ablybatch.ErrorInfo {
	return &ablybatch.ErrorInfo{Code: e.Code, StatusCode: e.StatusCode, Message: e.Message, Href: e.Href}
}

// replyLegacyBatch answers POST /messages in the version 2 shape: for one
// spec an array of per-channel results ({channel, messageId} or {channel,
// error}), for an array of specs an array of those; 201 when everything
// succeeded, else 400 with error 40020 and the results in batchResponse.
func (q *restReq) replyLegacyBatch(results []ablybatch.Result, isArray bool) {
	failed := false
	perSpec := make([][]ablybatch.ChannelResult, len(results))
	for i, r := range results {
		perSpec[i] = make([]ablybatch.ChannelResult, len(r.Results))
		for j, x := range r.Results {
			x.Serials = nil // version 2 has no serials
			perSpec[i][j] = x
		}
		failed = failed || r.FailureCount > 0
	}
	var body any = perSpec
	if !isArray {
		body = perSpec[0]
	}
	if failed {
		e := newErr(ablybatch.CodeBatchError, 400, "batched response includes errors: see batchResponse for each channel")
		q.w.Header().Set("X-Ably-Errorcode", strconv.Itoa(e.Code))
		q.w.Header().Set("X-Ably-Errormessage", e.Message)
		q.reply(http.StatusBadRequest, ablybatch.LegacyErrorBody{Error: wireError(e), BatchResponse: body}, "")
		return
	}
	q.reply(http.StatusCreated, body, "")
}

// decodeBatch decodes one BatchPublishSpec or an array of them; each spec's
// channels may be a string or array, its messages an object or array.
func decodeBatch(f format, b []byte) ([]batchSpec, bool, error) {
	type rawSpec struct {
		Channels any `json:"channels" msgpack:"channels"`
		Messages any `json:"messages" msgpack:"messages"`
	}
	var raws []rawSpec
	var one rawSpec
	isArray := false
	if f == formatJSON {
		isArray = len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] == '['
	} else if len(b) > 0 {
		isArray = (b[0] >= 0x90 && b[0] <= 0x9f) || b[0] == 0xdc || b[0] == 0xdd
	}
	var err error
	if isArray {
		err = unmarshal(f, b, &raws)
	} else {
		err = unmarshal(f, b, &one)
		raws = []rawSpec{one}
	}
	if err != nil {
		return nil, isArray, err
	}
	specs := make([]batchSpec, len(raws))
	for i, r := range raws {
		switch c := r.Channels.(type) {
		case string:
			specs[i].Channels = []string{c}
		case []any:
			for _, x := range c {
				s, ok := x.(string)
				if !ok {
					return nil, isArray, errBatch("channel names must be strings")
				}
				specs[i].Channels = append(specs[i].Channels, s)
			}
		default:
			return nil, isArray, errBatch("\"channels\" must be a string or an array of strings")
		}
		// re-encode the messages and decode them with the message decoder so
		// data keeps its wire type (str vs bin)
		var mb []byte
		if f == formatJSON {
			mb, err = json.Marshal(r.Messages)
		} else {
			mb, err = msgpack.Marshal(r.Messages)
		}
		if err != nil {
			return nil, isArray, err
		}
		if specs[i].Messages, err = decodeMessages(f, mb); err != nil {
			return nil, isArray, err
		}
	}
	return specs, isArray, nil
}

// errBatch is a batch body shape error.
type errBatch string

// Error implements error.
func (e errBatch) Error() string { return string(e) }
