package mongo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestCheckpointOnTimerNotPerEvent: tokens are stored on the timer's tick
// (the last handled event's), never per event, and not again while nothing
// changed.
func TestCheckpointOnTimerNotPerEvent(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders")
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	for i := 1; i <= 5; i++ {
		e.log.add(routed(t, i, "orders"))
	}
	s.waitCount(t, 5)
	waitState(t, c, "5 handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 5 })
	if _, saves := e.tokens.get("orders"); saves != 0 {
		t.Fatalf("%d saves before any tick", saves)
	}
	e.tick()
	<-e.tokens.saved
	tok, saves := e.tokens.get("orders")
	if saves != 1 || tokenData(tok) != tokenData(token(5)) {
		t.Fatalf("after a tick: %d saves, token %v; want 1 save of event 5's token", saves, tok)
	}
	st := *c.State().Mongo
	if st.ResumeToken != tokenData(token(5)) || st.TokenStored == nil || st.EventsSinceCheckpoint != 0 {
		t.Errorf("state %+v", st)
	}
	e.tick() // nothing new: no save
	e.log.add(routed(t, 6, "orders"))
	s.waitCount(t, 6)
	waitState(t, c, "event 6", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 1 })
	e.tick()
	<-e.tokens.saved
	if tok, saves := e.tokens.get("orders"); saves != 2 || tokenData(tok) != tokenData(token(6)) {
		t.Errorf("%d saves, token %v; want 2, event 6's", saves, tok)
	}
}

// TestShutdownFlushesToken: Stop stores the last handled token although
// no tick came.
func TestShutdownFlushesToken(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders")
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.log.add(routed(t, 1, "orders"), routed(t, 2, "orders"))
	s.waitCount(t, 2)
	waitState(t, c, "2 handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 2 })
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tok, saves := e.tokens.get("orders"); saves != 1 || tokenData(tok) != tokenData(token(2)) {
		t.Errorf("after Stop: %d saves, token %v", saves, tok)
	}
	if c.State().Mongo.Stream != connector.MongoStopped {
		t.Errorf("stream %s", c.State().Mongo.Stream)
	}
}

// TestRestartResumesFromStoredToken: a second connector resumes after the
// stored token and publishes only what came later.
func TestRestartResumesFromStoredToken(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders")
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.log.add(routed(t, 1, "orders"), routed(t, 2, "orders"))
	s.waitCount(t, 2)
	waitState(t, c, "2 handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 2 })
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.log.add(routed(t, 3, "orders"), routed(t, 4, "orders")) // while stopped
	c2 := e.start(t, e.options())
	s.waitCount(t, 4)
	waitState(t, c2, "2 published", func(s connector.MongoState) bool { return s.Published == 2 })
	opens := e.log.opened()
	if len(opens) != 2 || tokenData(opens[1].ResumeAfter) != tokenData(token(2)) {
		t.Fatalf("second open resumed after %v", opens[len(opens)-1].ResumeAfter)
	}
	var ids []string
	for _, m := range s.on("orders") {
		ids = append(ids, m.ID)
	}
	want := []string{MessageID(token(1)), MessageID(token(2)), MessageID(token(3)), MessageID(token(4))}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("received %v, want %v", ids, want)
	}
}

// TestReplayAfterCrashIsDeduplicated: after a crash the stored token is
// older than what was published; the replayed events keep their ids and
// the real subscriber sees each event once.
func TestReplayAfterCrashIsDeduplicated(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders")
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.log.add(routed(t, 1, "orders"))
	s.waitCount(t, 1)
	waitState(t, c, "handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 1 })
	e.tick()
	<-e.tokens.saved // checkpoint at event 1
	e.log.add(routed(t, 2, "orders"), routed(t, 3, "orders"))
	s.waitCount(t, 3)
	// Crash: the token store keeps event 1's token (Stop's flush fails).
	e.tokens.set(func(m *memTokens) { m.saveErr = errors.New("crashed") })
	_ = c.Stop(context.Background())
	e.tokens.set(func(m *memTokens) { m.saveErr = nil })

	c2 := e.start(t, e.options())
	e.log.add(routed(t, 4, "orders"))
	s.waitCount(t, 4)
	waitState(t, c2, "replay and event 4", func(s connector.MongoState) bool { return s.Published == 3 })
	if got := len(s.on("orders")); got != 4 {
		t.Errorf("subscriber got %d messages, want 4 (replays of 2 and 3 deduplicated)", got)
	}
	if tokenData(e.log.opened()[1].ResumeAfter) != tokenData(token(1)) {
		t.Errorf("did not resume from the stored token")
	}
}

// TestTokenStoreFailureReported: a failing store is 72007 and
// tokenStoreFailing, publishing goes on, and the next tick that can store
// clears it.
func TestTokenStoreFailureReported(t *testing.T) {
	e := newEnv(t)
	s := e.subscribe(t, "orders")
	events, unsub := e.bus.Subscribe(100)
	defer unsub()
	c := e.start(t, e.options())
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.tokens.set(func(m *memTokens) { m.saveErr = errors.New("not authorized on app to execute command update") })
	e.log.add(routed(t, 1, "orders"))
	s.waitCount(t, 1)
	waitState(t, c, "handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 1 })
	e.tick()
	st := waitState(t, c, "72007", func(s connector.MongoState) bool { return s.TokenStoreFailing })
	if st.LastError == nil || st.LastError.Code != CodeTokenStore || !strings.Contains(st.LastError.Message, "unable to store resume token: not authorized") ||
		!strings.Contains(st.Detail, "not authorized") || !strings.Contains(st.Action, "readWrite on app.ably") {
		t.Errorf("state %+v", st)
	}
	e.log.add(routed(t, 2, "orders"))
	s.waitCount(t, 2) // still publishing
	waitState(t, c, "event 2 handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 2 })
	e.tokens.set(func(m *memTokens) { m.saveErr = nil })
	e.tick()
	<-e.tokens.saved
	// The advised fix (the user may write to app.ably) clears the failure.
	st = waitState(t, c, "token stored again", func(s connector.MongoState) bool { return !s.TokenStoreFailing })
	if st.ResumeToken != tokenData(token(2)) || st.Action != "" || st.Detail != "" {
		t.Errorf("after recovery %+v", st)
	}
	for ev := range events {
		if ev.Code == CodeTokenStore {
			return
		}
		if len(events) == 0 {
			break
		}
	}
	t.Error("no 72007 on the event stream")
}

// TestHistoryLostIsStuckUntilTokenDeleted: a stored token the server no
// longer has is 72008: the stream is stuck with a reason and an action;
// doing the action (deleting the token) restarts the stream from now.
func TestHistoryLostIsStuckUntilTokenDeleted(t *testing.T) {
	e := newEnv(t)
	e.log.add(routed(t, 10, "orders"))
	e.tokens.set(func(m *memTokens) { m.tokens["orders"] = token(1) }) // not in the history
	s := e.subscribe(t, "orders")
	c := e.start(t, e.options())
	st := waitState(t, c, "stuck", func(s connector.MongoState) bool { return s.Stream == connector.MongoStuck })
	if st.LastError == nil || st.LastError.Code != CodeHistoryLost || !strings.Contains(st.Detail, "history lost") ||
		!strings.Contains(st.Action, "since 2023-11-14T22:13:21Z (the stored token's cluster time) may not have been published") || !strings.Contains(st.Action, `ably.deleteOne({_id: "orders"})`) {
		t.Fatalf("state %+v", st)
	}
	e.tokens.set(func(m *memTokens) { delete(m.tokens, "orders") }) // the advised action
	waitState(t, c, "streaming again", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	e.log.add(routed(t, 11, "orders"))
	s.waitCount(t, 1)
	if m := s.on("orders"); m[0].ID != MessageID(token(11)) {
		t.Errorf("published %s, want event 11 (from now)", m[0].ID)
	}
	waitState(t, c, "event 11 handled", func(s connector.MongoState) bool { return s.EventsSinceCheckpoint == 1 })
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tok, _ := e.tokens.get("orders"); tokenData(tok) != tokenData(token(11)) {
		t.Errorf("stored %v after recovery", tok)
	}
}

// TestUnreadableTokenIsStuck: a stored document that is not a token is
// 72006 with the action to delete it.
func TestUnreadableTokenIsStuck(t *testing.T) {
	e := newEnv(t)
	raw, _ := bson.Marshal(bson.D{{Key: "_id", Value: "orders"}, {Key: "resumeToken", Value: 42}})
	_, loadErr := TokenFromDocument(raw)
	e.tokens.set(func(m *memTokens) { m.loadErr = loadErr })
	c := e.start(t, e.options())
	st := waitState(t, c, "stuck", func(s connector.MongoState) bool { return s.Stream == connector.MongoStuck })
	if st.LastError == nil || st.LastError.Code != CodeTokenRead || !strings.Contains(st.LastError.Message, "unable to resume change stream") ||
		!strings.Contains(st.Action, "deleteOne") {
		t.Errorf("state %+v", st)
	}
	if n := len(e.log.opened()); n != 0 {
		t.Errorf("%d streams opened with an unreadable token", n)
	}
}
