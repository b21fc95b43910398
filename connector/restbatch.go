package connector

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablybatch"
)

// Batch publish limits (POST /messages): at most 100 channels per request;
// one message per BatchSpec keeps each row's own id.
const (
	maxBatchSpecs = 100
	batchLinger   = time.Millisecond
	maxInFlight   = 4
)

type pendingPublish struct {
	channel string
	msg     *ably.Message
	onAck   func(error)
}

// restBatcher gathers concurrent publishes (each channel has at most one
// in flight) into POST /messages requests of up to 100 BatchSpecs.
//
// It writes each request and reads each answer itself (JSON, X-Ably-Version
// 3, package ablybatch's wire shape), so every row gets its own channel's
// result and error code: ably-go's REST.Request always sends version 2,
// whose partial failure is a 400 whose body (the per-channel codes) ably-go
// consumes. ably-go still addresses and authorises each request — the
// caller's ClientOptions are opaque functions, and going through ably-go
// keeps every auth method (key, token, authCallback), the endpoint, port
// and TLS options, fallback hosts and token renewal exactly as in realtime
// mode — through an http.Client whose transport (batchTransport) swaps in
// this package's body and headers and keeps the answer.
type restBatcher struct {
	rest    *ably.REST
	mu      sync.Mutex
	pending []pendingPublish
	wake    chan struct{}
	sem     chan struct{}
	up      atomic.Bool
	done    chan struct{}
	once    sync.Once
}

// newRESTBatcher makes a batcher; opts start with ablylog's (redacted
// logs). Its own http.Client replaces any ably.WithHTTPClient in opts.
func newRESTBatcher(opts []ably.ClientOption) (*restBatcher, error) {
	hc := &http.Client{Transport: batchTransport{next: http.DefaultTransport}}
	rest, err := ably.NewREST(append(opts, ably.WithHTTPClient(hc))...)
	if err != nil {
		return nil, fmt.Errorf("ably REST client: %w", err)
	}
	b := &restBatcher{rest: rest, wake: make(chan struct{}, 1), sem: make(chan struct{}, maxInFlight), done: make(chan struct{})}
	b.up.Store(true)
	go b.loop()
	return b, nil
}

func (b *restBatcher) publish(channel string, msg *ably.Message, onAck func(error)) {
	b.mu.Lock()
	b.pending = append(b.pending, pendingPublish{channel, msg, onAck})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *restBatcher) loop() {
	for {
		select {
		case <-b.done:
			b.failAll(errors.New("publisher closed"))
			return
		case <-b.wake:
		}
		time.Sleep(batchLinger) // let concurrent channels join the request
		for {
			b.mu.Lock()
			n := min(len(b.pending), maxBatchSpecs)
			batch := append([]pendingPublish(nil), b.pending[:n]...)
			b.pending = b.pending[n:]
			b.mu.Unlock()
			if n == 0 {
				break
			}
			b.sem <- struct{}{}
			go func() { defer func() { <-b.sem }(); b.send(batch) }()
		}
	}
}

func (b *restBatcher) failAll(err error) {
	b.mu.Lock()
	p := b.pending
	b.pending = nil
	b.mu.Unlock()
	for _, x := range p {
		x.onAck(err)
	}
}

// send posts one request and acknowledges each publish from its
// channel's result.
func (b *restBatcher) send(batch []pendingPublish) {
	specs := make([]ablybatch.Spec, len(batch))
	for i, p := range batch {
		specs[i] = ablybatch.Spec{Channels: []string{p.channel}, Messages: []ablybatch.Message{wireMessage(p.msg)}}
	}
	results, err := b.post(specs)
	b.up.Store(err == nil || ErrorCode(err) != 0) // the endpoint answered
	for i, p := range batch {
		if err != nil {
			p.onAck(err)
			continue
		}
		p.onAck(channelError(results[i]))
	}
}

// batchTimeout bounds one batch request, retries on fallback hosts and
// token renewal included.
const batchTimeout = 15 * time.Second

// post sends specs and returns one Result per spec, or the error of the
// whole request (an *ably.ErrorInfo when the endpoint answered with one).
func (b *restBatcher) post(specs []ablybatch.Spec) ([]ablybatch.Result, error) {
	body, err := json.Marshal(specs)
	if err != nil {
		return nil, fmt.Errorf("batch publish: encoding the request: %w", err)
	}
	x := &batchExchange{body: body}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), exchangeKey{}, x), batchTimeout)
	defer cancel()
	_, err = b.rest.Request("POST", ablybatch.Path).Pages(ctx)
	if !x.answered {
		if err == nil {
			err = errors.New("batch publish: the request was never sent")
		}
		return nil, err // network failure, or ably-go could not authorise
	}
	return decodeBatchAnswer(x.status, x.contentType, x.answer, len(specs))
}

// decodeBatchAnswer reads a version 3 answer: 2xx with one Result per
// spec, or a whole-request error.
func decodeBatchAnswer(status int, contentType string, raw []byte, n int) ([]ablybatch.Result, error) {
	isJSON := strings.HasPrefix(strings.TrimSpace(contentType), "application/json")
	if status < 200 || status > 299 {
		var eb ablybatch.ErrorBody
		if isJSON && json.Unmarshal(raw, &eb) == nil && eb.Error != nil && eb.Error.Code != 0 {
			return nil, fmt.Errorf("batch publish: %s: %w", eb.Error.Message, wireErr(eb.Error))
		}
		// Ably's convention for an error without a body: code = status × 100.
		return nil, fmt.Errorf("batch publish: HTTP %d without an Ably error body: %w", status, &ably.ErrorInfo{Code: ably.ErrorCode(status * 100), StatusCode: status})
	}
	if !isJSON {
		return nil, fmt.Errorf("batch publish: answer has Content-Type %q, asked for application/json", contentType)
	}
	var results []ablybatch.Result
	if err := json.Unmarshal(raw, &results); err != nil {
		return nil, fmt.Errorf("batch publish: cannot read the answer as version %s BatchResults: %w", ablybatch.Version, err)
	}
	if len(results) != n {
		return nil, fmt.Errorf("batch publish returned %d results for %d specs", len(results), n)
	}
	return results, nil
}

// channelError is a one-channel, one-message spec's outcome: nil on
// success, else the channel's own error (an *ably.ErrorInfo inside).
func channelError(r ablybatch.Result) error {
	if r.FailureCount == 0 && r.SuccessCount == 1 {
		return nil
	}
	for _, x := range r.Results {
		if x.Error != nil {
			return fmt.Errorf("%s: %w", x.Error.Message, wireErr(x.Error))
		}
	}
	return errors.New("batch publish: no result for the channel")
}

// wireErr converts a wire error into ably-go's error type, which ErrorCode
// and the node's blocking rules read.
func wireErr(e *ablybatch.ErrorInfo) *ably.ErrorInfo {
	return &ably.ErrorInfo{Code: ably.ErrorCode(e.Code), StatusCode: e.StatusCode}
}

// wireMessage is m as a batch message. Binary data is base64 text with
// "base64" appended to its encoding, as Ably's JSON protocol carries it.
func wireMessage(m *ably.Message) ablybatch.Message {
	w := ablybatch.Message{ID: m.ID, Name: m.Name, Data: m.Data, Encoding: m.Encoding, Extras: m.Extras}
	if b, ok := m.Data.([]byte); ok {
		w.Data = base64.StdEncoding.EncodeToString(b)
		w.Encoding = strings.TrimPrefix(m.Encoding+"/base64", "/")
	}
	return w
}

// batchExchange is one batch request as this package writes it and the
// answer to its last attempt.
type batchExchange struct {
	body []byte // JSON []ablybatch.Spec

	answered    bool
	status      int
	contentType string
	answer      []byte
}

// exchangeKey marks a request context carrying a *batchExchange.
type exchangeKey struct{}

// maxBatchAnswer bounds the answer read (100 results are a few KiB).
const maxBatchAnswer = 4 << 20

// batchTransport sends the batch requests ably-go has addressed and
// authorised with the exchange's body and headers (JSON, X-Ably-Version 3)
// and keeps the answer. Other requests (token requests) pass unchanged.
// ably-go tries the attempts of one request one after another, so an
// exchange is never written concurrently.
type batchTransport struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t batchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	x, ok := req.Context().Value(exchangeKey{}).(*batchExchange)
	if !ok || req.URL.Path != ablybatch.Path {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(x.body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(x.body)), nil }
	r.ContentLength = int64(len(x.body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set(ablybatch.VersionHeader, ablybatch.Version)
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchAnswer))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("batch publish: reading the answer: %w", err)
	}
	x.answered, x.status, x.contentType, x.answer = true, resp.StatusCode, resp.Header.Get("Content-Type"), raw
	resp.Body = io.NopCloser(bytes.NewReader(raw)) // ably-go reads it too
	resp.ContentLength = int64(len(raw))
	return resp, nil
}

func (b *restBatcher) close() { b.once.Do(func() { close(b.done) }) }
