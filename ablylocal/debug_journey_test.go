package ablylocal

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal/localdebug"
)

// TestDebugMessagesJourney: a message published by ably-go with its own id
// is recorded with the publishing connection, its serial and the number of
// subscribers it went to; the route needs the API key.
func TestDebugMessagesJourney(t *testing.T) {
	s := startServer(t, Options{})
	key := s.Keys()[0].String()
	base := "http://" + s.Addr()
	sub1, _ := newRealtime(t, clientOpts(s, true)...)
	sub2, _ := newRealtime(t, clientOpts(s, false)...)
	got1, got2 := subscribe(t, sub1, "trace:1"), subscribe(t, sub2, "trace:1")
	pub, _ := newRealtime(t, clientOpts(s, true, ably.WithEchoMessages(false))...)
	if err := pub.Channels.Get("trace:1").PublishMultiple(ctxT(t), []*ably.Message{{ID: "42", Name: "t", Data: "x"}}); err != nil {
		t.Fatal(err)
	}
	m := next(t, got1)
	next(t, got2)
	r, err := localdebug.FetchMessages(ctxT(t), http.DefaultClient, base, key, "trace:1", "42")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Records) != 1 {
		t.Fatalf("records %+v", r.Records)
	}
	rec := r.Records[0]
	if rec.Delivered != 2 || rec.ConnectionID != pub.Connection.ID() || rec.Serial == "" || rec.Channel != "trace:1" ||
		rec.Accepted.UnixMilli() < m.Timestamp || rec.Accepted.UnixMilli() > m.Timestamp+1000 {
		t.Errorf("record %+v (publisher %s, timestamp %d)", rec, pub.Connection.ID(), m.Timestamp)
	}
	if r, _ := localdebug.FetchMessages(ctxT(t), http.DefaultClient, base, key, "other", "42"); len(r.Records) != 0 {
		t.Errorf("found on another channel: %+v", r.Records)
	}
	if _, err := localdebug.FetchMessages(ctxT(t), http.DefaultClient, base, key+"x", "", "42"); err == nil || !strings.Contains(err.Error(), "code 401") {
		t.Errorf("wrong secret: %v", err)
	}
}
