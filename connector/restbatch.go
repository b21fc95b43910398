package connector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ably/ably-go/ably"
)

// Batch publish limits (POST /messages): at most 100 channels per request;
// one message per BatchSpec keeps each row's own id.
const (
	maxBatchSpecs = 100
	batchLinger   = time.Millisecond
	maxInFlight   = 4
)

// batchSpec is one BatchPublishSpec: one channel, one message.
type batchSpec struct {
	Channels []string        `json:"channels" codec:"channels"`
	Messages []*ably.Message `json:"messages" codec:"messages"`
}

// batchResult is one BatchResult of the response.
type batchResult struct {
	SuccessCount int `json:"successCount" codec:"successCount"`
	FailureCount int `json:"failureCount" codec:"failureCount"`
	Results      []struct {
		Channel   string `json:"channel" codec:"channel"`
		MessageID string `json:"messageId" codec:"messageId"`
		Error     *struct {
			Code       int    `json:"code" codec:"code"`
			StatusCode int    `json:"statusCode" codec:"statusCode"`
			Message    string `json:"message" codec:"message"`
		} `json:"error" codec:"error"`
	} `json:"results" codec:"results"`
}

type pendingPublish struct {
	channel string
	msg     *ably.Message
	onAck   func(error)
}

// restBatcher gathers concurrent publishes (each channel has at most one
// in flight) into POST /messages requests of up to 100 BatchSpecs.
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

func newRESTBatcher(opts []ably.ClientOption) (*restBatcher, error) {
	rest, err := ably.NewREST(opts...) // opts start with ablylog's (redacted logs)
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

// send posts one request and acknowledges each publish from its result.
func (b *restBatcher) send(batch []pendingPublish) {
	specs := make([]batchSpec, len(batch))
	for i, p := range batch {
		specs[i] = batchSpec{Channels: []string{p.channel}, Messages: []*ably.Message{p.msg}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := b.rest.Request("POST", "/messages", ably.RequestWithBody(specs)).Pages(ctx)
	if err == nil && !resp.Success() {
		err = &ably.ErrorInfo{Code: resp.ErrorCode(), StatusCode: resp.StatusCode()}
		if resp.ErrorMessage() != "" {
			err = fmt.Errorf("%s: %w", resp.ErrorMessage(), err)
		}
	}
	var results []batchResult
	if err == nil {
		if !resp.Next(ctx) {
			err = fmt.Errorf("batch publish: empty response: %v", resp.Err())
		} else {
			err = resp.Items(&results)
		}
		if err == nil && len(results) != len(batch) {
			err = fmt.Errorf("batch publish returned %d results for %d specs", len(results), len(batch))
		}
	}
	b.up.Store(err == nil || ErrorCode(err) != 0)
	for i, p := range batch {
		if err != nil {
			p.onAck(err)
			continue
		}
		r := results[i]
		if r.FailureCount == 0 && r.SuccessCount == 1 {
			p.onAck(nil)
			continue
		}
		perr := errors.New("batch publish: no result for the channel")
		for _, x := range r.Results {
			if x.Error != nil {
				perr = fmt.Errorf("%s: %w", x.Error.Message, &ably.ErrorInfo{Code: ably.ErrorCode(x.Error.Code), StatusCode: x.Error.StatusCode})
			}
		}
		p.onAck(perr)
	}
}

func (b *restBatcher) close() { b.once.Do(func() { close(b.done) }) }
