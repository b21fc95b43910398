package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector"
)

// run opens the stream and reopens it after failures until ctx ends.
func (c *Connector) run(ctx context.Context) {
	backoff := c.opts.RetryMin
	for ctx.Err() == nil {
		progressed, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = c.opts.RetryMin
		}
		wait := backoff
		c.report(err, nil)
		switch CodeOf(err) {
		case CodeHistoryLost:
			wait = c.opts.RetryMax
			since := "the stored token"
			if at, ok := TokenTime(c.lostToken()); ok {
				since = at.Format(time.RFC3339) + " (the stored token's cluster time)"
			}
			c.setStream(connector.MongoStuck, err.Error(),
				fmt.Sprintf("changes made to %s.%s since %s may not have been published; to restart from now, delete the token: db.getSiblingDB(%q).ably.deleteOne({_id: %q})",
					c.opts.Database, c.opts.Collection, since, c.opts.Database, c.opts.Rule))
		case CodeTokenRead:
			wait = c.opts.RetryMax
			c.setStream(connector.MongoStuck, err.Error(),
				fmt.Sprintf("fix or delete the stored token (restarts from now): db.getSiblingDB(%q).ably.deleteOne({_id: %q})", c.opts.Database, c.opts.Rule))
		default:
			c.setStream(connector.MongoRetrying, err.Error(), "check that MongoDB is reachable, is a replica set, and the user may read the collection and run changeStream")
			backoff = min(2*backoff, c.opts.RetryMax)
		}
		if !connector.Sleep(ctx, wait) {
			return
		}
	}
}

// session loads the resume point, opens the stream and handles events
// until an error; progressed says whether the stream opened.
func (c *Connector) session(ctx context.Context) (progressed bool, err error) {
	c.mu.Lock()
	resume := c.handled.token
	c.mu.Unlock()
	if resume == nil {
		stored, err := c.opts.Tokens.TokenLoad(ctx, c.opts.Rule)
		if err != nil {
			if errors.Is(err, ErrTokenUnreadable) {
				return false, &Error{Code: CodeTokenRead, Message: "unable to resume change stream", Err: err}
			}
			return false, &Error{Code: CodeStream, Message: "unable to connect to database", Err: err}
		}
		if stored != nil {
			c.mu.Lock()
			c.setToken(stored)
			c.mu.Unlock()
		}
		resume = stored
	}
	c.mu.Lock()
	c.resumedFrom = resume
	c.mu.Unlock()
	stream, err := c.opts.Source.StreamOpen(ctx, StreamParams{
		Pipeline: c.pipeline, FullDocument: c.opts.FullDocument,
		FullDocumentBeforeChange: c.opts.FullDocumentBeforeChange, ResumeAfter: resume,
	})
	if err != nil {
		return false, c.streamError(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stream.StreamClose(cctx)
	}()
	c.setStream(connector.MongoStreaming, "", "")
	c.opts.Logger.Info("mongo change stream open", "rule", c.opts.Rule, "resumed", resume != nil)
	for {
		ch, err := stream.StreamNext(ctx)
		if err != nil {
			return true, c.streamError(err)
		}
		tok := ch.Token
		if ch.Event != nil {
			if !c.handle(ctx, ch.Event) {
				return true, ctx.Err()
			}
			if tok == nil {
				tok = eventToken(ch.Event)
			}
		}
		if tok != nil {
			c.markHandled(tok, ch.Event != nil)
		}
	}
}

// lostToken is the token the last stream resumed from.
func (c *Connector) lostToken() bson.Raw {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumedFrom
}

// eventToken is an event's _id (its resume token), nil when absent.
func eventToken(event bson.Raw) bson.Raw {
	if doc, ok := event.Lookup("_id").DocumentOK(); ok {
		return doc
	}
	return nil
}

// streamError classifies a stream error: 72008 for lost history (and the
// in-memory token is dropped, so the stored one decides the next start),
// else 72003.
func (c *Connector) streamError(err error) error {
	if errors.Is(err, ErrHistoryLost) {
		c.mu.Lock()
		c.handled.token = nil
		c.saved.seq, c.saved.events = c.handled.seq, c.handled.events
		c.mu.Unlock()
		return &Error{Code: CodeHistoryLost, Message: "change stream history lost: the resume token is no longer in the oplog", Err: err}
	}
	return &Error{Code: CodeStream, Message: "unable to start change stream", Err: err}
}

// handle maps and publishes one event, retrying transient publish errors;
// it reports false only when ctx ended first (the event is then not
// handled, and is replayed after a restart).
func (c *Connector) handle(ctx context.Context, event bson.Raw) bool {
	m, err := Map(event, c.opts.DataEncoding)
	if err != nil {
		c.report(err, func(s *connector.MongoState) {
			if CodeOf(err) == CodeNoChannel {
				s.SkippedNoChannel++
			}
		})
		return true
	}
	for _, w := range m.Warnings {
		c.opts.Logger.Warn("mongo connector", "rule", c.opts.Rule, "warning", w)
	}
	backoff := c.opts.RetryMin
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := c.publish(ctx, m)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			c.rate.add(time.Now())
			c.mu.Lock()
			c.st.Published++
			c.mu.Unlock()
			c.opts.Events.Emit(connector.Event{Kind: connector.EventPublished, Node: c.node, Channel: m.Channel,
				Latency: time.Since(start), Attempt: attempt, Message: m.Message.ID})
			return true
		}
		code := connector.ErrorCode(err)
		if slices.Contains(c.opts.PermanentCodes, code) {
			c.report(&Error{Code: CodePublish, Message: fmt.Sprintf("message %s on channel %s skipped: Ably error %d", m.Message.ID, m.Channel, code), Err: err},
				func(s *connector.MongoState) { s.SkippedPublish++ })
			return true
		}
		c.opts.Events.Emit(connector.Event{Kind: connector.EventFailed, Node: c.node, Channel: m.Channel,
			Attempt: attempt, Code: code, Message: m.Message.ID + ": " + err.Error()})
		if !connector.Sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, c.opts.RetryMax)
	}
}

// publish sends one message and waits for its ACK.
func (c *Connector) publish(ctx context.Context, m Mapped) error {
	done := make(chan error, 1)
	c.pub.Publish(ctx, m.Channel, m.Message, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
