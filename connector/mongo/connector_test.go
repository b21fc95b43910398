package mongo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestPublishesEventsInStreamOrder: a real ably-go subscriber receives
// each event once, in stream order, with its id, name, headers and the
// event as JSON data; the rule's options reach StreamOpen.
func TestPublishesEventsInStreamOrder(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders", "audit")
	o := e.options()
	o.FullDocument, o.FullDocumentBeforeChange = FullDocUpdateLookup, FullDocWhenAvailable
	c := e.start(t, o)
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.log.add(
		routed(t, 1, "orders", bson.E{Key: FieldName, Value: "created"}, bson.E{Key: FieldHeaders, Value: bson.D{{Key: "x-k", Value: "v"}}}),
		routed(t, 2, "audit"),
		routed(t, 3, "orders", bson.E{Key: FieldName, Value: "updated"}),
	)
	s.waitCount(t, 3)
	got := s.on("orders")
	if len(got) != 2 || got[0].ID != MessageID(token(1)) || got[1].ID != MessageID(token(3)) || got[0].Name != "created" || got[1].Name != "updated" {
		t.Fatalf("orders received %v", got)
	}
	if h, _ := got[0].Extras["headers"].(map[string]any); h["x-k"] != "v" {
		t.Errorf("headers %v", got[0].Extras)
	}
	// ably-go realtime subscribers leave encoding json undecoded.
	if str, _ := got[0].Data.(string); got[0].Encoding != "json" || !strings.Contains(str, `"fullDocument":{"_id":{"$oid":`) {
		t.Errorf("data %v encoding %q", got[0].Data, got[0].Encoding)
	}
	if a := s.on("audit"); len(a) != 1 || a[0].ID != MessageID(token(2)) {
		t.Errorf("audit received %v", a)
	}
	st := waitState(t, c, "3 handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 3 })
	if st.Published != 3 || st.Rule != "orders" {
		t.Errorf("state %+v", st)
	}
	p := e.log.opened()[0]
	if p.FullDocument != FullDocUpdateLookup || p.FullDocumentBeforeChange != FullDocWhenAvailable || len(p.Pipeline) != 1 || p.ResumeAfter != nil {
		t.Errorf("stream params %+v", p)
	}
}

// TestSkipsEventWithoutChannel: an event without _ablyChannel is skipped
// (72004), counted and reported, and the stream goes on; the checkpoint
// moves past it, so it is not retried after a restart.
func TestSkipsEventWithoutChannel(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders")
	events, unsub := e.bus.Subscribe(100)
	defer unsub()
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.log.add(routed(t, 1, "orders"), changeEvent(t, 2), routed(t, 3, "orders"))
	s.waitCount(t, 2)
	st := waitState(t, c, "published", func(s connector.MongoState) bool { return s.Published == 2 })
	if st.SkippedNoChannel != 1 || st.LastError == nil || st.LastError.Code != CodeNoChannel || !strings.Contains(st.LastError.Message, "no channel key in message "+MessageID(token(2))) {
		t.Errorf("state %+v", st)
	}
	if st.Stream != connector.MongoStreaming {
		t.Errorf("stream %s after a 72004", st.Stream)
	}
	found := false
	for len(events) > 0 {
		if ev := <-events; ev.Kind == connector.EventFailed && ev.Code == CodeNoChannel {
			found = true
		}
	}
	if !found {
		t.Error("no 72004 on the event stream")
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tok, _ := e.tokens.get("orders"); tokenData(tok) != tokenData(token(3)) {
		t.Errorf("stored token %v, want event 3's", tok)
	}
}

// TestStreamErrorRetries: a failing StreamOpen is 72003, the stream is
// reported as retrying, and it opens once the server answers.
func TestStreamErrorRetries(t *testing.T) {
	e := newEnv(t)
	e.log.openErr = []error{errors.New("connection refused"), errors.New("connection refused")}
	s := e.subscribe(t, "orders")
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	st := *c.State().Mongo
	if st.LastError == nil || st.LastError.Code != CodeStream || !strings.Contains(st.LastError.Message, "unable to start change stream") {
		t.Errorf("state %+v", st)
	}
	if n := len(e.log.opened()); n != 3 {
		t.Errorf("%d opens, want 3", n)
	}
	e.log.add(routed(t, 1, "orders"))
	s.waitCount(t, 1)
}
