package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector"
)

// Connector runs one rule's change stream until Stop.
type Connector struct {
	opts     Options
	pipeline bson.A
	pub      *connector.Publisher
	node     string
	rate     rate

	cancel   context.CancelFunc
	runDone  chan struct{}
	tickDone chan struct{}
	stopTick func()

	health *connector.HealthServer

	mu     sync.Mutex
	st     connector.MongoState
	ably   connector.AblyConnState
	stream struct {
		detail, action string // why the stream is stuck or retrying; what fixes it
	}
	tokenErr    string   // the last 72007, while storing fails
	resumedFrom bson.Raw // the token the current stream resumed from
	saved       struct {
		seq, events int64
		token       bson.Raw
	}
	handled struct {
		seq    int64 // token advances so far (events and idle post-batch tokens)
		events int64 // events handled so far
		token  bson.Raw
	}
}

// Start validates opts (a bad pipeline is error 72005, returned at once),
// connects the publisher and runs the stream in the background.
func Start(ctx context.Context, opts Options) (*Connector, error) {
	opts, err := opts.Validate()
	if err != nil {
		return nil, err
	}
	pipeline, _ := ParsePipeline(opts.Pipeline)
	c := &Connector{opts: opts, pipeline: pipeline, node: NodeID(opts.Rule),
		runDone: make(chan struct{}), tickDone: make(chan struct{})}
	c.st = connector.MongoState{Rule: opts.Rule, Database: opts.Database, Collection: opts.Collection, Stream: connector.MongoStarting}
	c.pub, err = connector.NewPublisher(connector.PublisherOptions{
		ClientOptions: opts.Ably, Pace: opts.RealAbly,
		OnState: func(s string, reason error) {
			now := time.Now().UTC()
			c.mu.Lock()
			c.ably = connector.AblyConnState{State: s, Reason: connector.NewErrorInfo(reason, now), Since: &now}
			c.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	if err := c.startHealth(); err != nil {
		c.pub.Close()
		return nil, fmt.Errorf("mongo connector: health server: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	ticks, stop := opts.ticker(opts.CheckpointInterval)
	c.stopTick = stop
	go func() {
		defer close(c.tickDone)
		for {
			select {
			case <-runCtx.Done():
				return
			case <-ticks:
				_ = c.checkpoint(runCtx)
			}
		}
	}()
	go func() { defer close(c.runDone); c.run(runCtx) }()
	return c, nil
}

// Stop ends the stream, stores the last handled token (the shutdown flush)
// and closes the publisher. The error is a 72007 when the token could not
// be stored, or ctx's when the stream did not end in time.
func (c *Connector) Stop(ctx context.Context) error {
	c.cancel()
	c.stopTick()
	var err error
	select {
	case <-c.runDone:
	case <-ctx.Done():
		err = fmt.Errorf("mongo connector: stream did not stop: %w", ctx.Err())
	}
	<-c.tickDone
	if ferr := c.checkpoint(ctx); ferr != nil {
		err = errors.Join(err, ferr)
	}
	c.pub.Close()
	c.mu.Lock()
	c.st.Stream = connector.MongoStopped
	c.mu.Unlock()
	if c.health != nil {
		c.health.Close()
	}
	return err
}

// NodeID is the connector's node id for a rule (NodeState.Node, and the
// Node of its events).
func NodeID(rule string) string { return "mongo:" + rule }

// checkpoint stores the last handled token when it changed since the last
// store; a failure is reported as 72007 and retried on the next tick.
func (c *Connector) checkpoint(ctx context.Context) error {
	c.mu.Lock()
	tok, seq, events := c.handled.token, c.handled.seq, c.handled.events
	dirty := tok != nil && seq != c.saved.seq
	c.mu.Unlock()
	if !dirty {
		return nil
	}
	now := time.Now()
	err := c.opts.Tokens.TokenSave(ctx, TokenSaveParams{Rule: c.opts.Rule, Token: tok, At: now})
	if err != nil {
		e := &Error{Code: CodeTokenStore, Message: "unable to store resume token", Err: err}
		c.report(e, func(s *connector.MongoState) { s.TokenStoreFailing = true })
		c.mu.Lock()
		c.tokenErr = e.Error()
		c.mu.Unlock()
		return e
	}
	c.mu.Lock()
	if c.saved.seq < seq {
		c.saved.seq, c.saved.events, c.saved.token = seq, events, tok
	}
	c.setToken(tok)
	c.st.TokenStored = &now
	c.st.TokenStoreFailing = false
	c.tokenErr = ""
	c.mu.Unlock()
	c.opts.Logger.Debug("resume token stored", "rule", c.opts.Rule, "token", tokenData(tok))
	return nil
}

// TokenTime decodes the cluster time a resume token points at (the
// timestamp that leads a token's _data on MongoDB 4.2+: 0x82, then 4 bytes
// of seconds); false when the token has another form.
func TokenTime(tok bson.Raw) (time.Time, bool) {
	d := tokenData(tok)
	if len(d) < 18 || !strings.HasPrefix(d, "82") {
		return time.Time{}, false
	}
	secs, err := strconv.ParseUint(d[2:10], 16, 32)
	if err != nil || secs == 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(secs), 0).UTC(), true
}

// setToken records tok as the stored token (c.mu held).
func (c *Connector) setToken(tok bson.Raw) {
	c.st.ResumeToken = tokenData(tok)
	c.st.TokenClusterTime = nil
	if at, ok := TokenTime(tok); ok {
		c.st.TokenClusterTime = &at
	}
}

// tokenData is a token's _data string, else its Extended JSON.
func tokenData(tok bson.Raw) string {
	if v, err := tok.LookupErr("_data"); err == nil {
		if s, ok := v.StringValueOK(); ok {
			return s
		}
	}
	return tok.String()
}

// report records err as the last error (and applies more state changes),
// logs it and emits it on the event stream.
func (c *Connector) report(err error, more func(*connector.MongoState)) {
	now := time.Now()
	code := CodeOf(err)
	c.mu.Lock()
	c.st.LastError = &connector.ErrorInfo{Code: code, Message: err.Error(), Time: now.UTC()}
	if more != nil {
		more(&c.st)
	}
	c.mu.Unlock()
	c.opts.Logger.Warn("mongo connector", "rule", c.opts.Rule, "code", code, "error", err.Error())
	c.opts.Events.Emit(connector.Event{Time: now, Kind: connector.EventFailed, Node: c.node, Code: code, Message: err.Error()})
}

// setStream changes the stream state, with a reason and action.
func (c *Connector) setStream(s connector.MongoStream, reason, action string) {
	c.mu.Lock()
	changed := c.st.Stream != s
	c.st.Stream, c.stream.detail, c.stream.action = s, reason, action
	c.mu.Unlock()
	if changed {
		msg := string(s)
		if reason != "" {
			msg += ": " + reason
		}
		c.opts.Events.Emit(connector.Event{Kind: connector.EventInfo, Node: c.node, Message: "mongo stream " + msg})
	}
}

// markHandled advances the token to checkpoint (an unchanged token is not
// an advance); event says an event was handled.
func (c *Connector) markHandled(tok bson.Raw, event bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if event {
		c.handled.events++
	}
	if c.handled.token != nil && slices.Equal([]byte(c.handled.token), []byte(tok)) {
		return
	}
	c.handled.token = slices.Clone(tok)
	c.handled.seq++
}
