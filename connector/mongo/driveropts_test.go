package mongo

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestChangeStreamOptions: every fullDocument and fullDocumentBeforeChange
// value of the rule reaches the driver's options ("off" leaves them unset,
// as the server rejects fullDocument "off"), and so does the resume token.
func TestChangeStreamOptions(t *testing.T) {
	apply := func(p StreamParams) options.ChangeStreamOptions {
		var o options.ChangeStreamOptions
		for _, set := range ChangeStreamOptions(p).List() {
			if err := set(&o); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	str := func(fd *options.FullDocument) string {
		if fd == nil {
			return "<unset>"
		}
		return string(*fd)
	}
	for _, c := range []struct{ full, before, wantFull, wantBefore string }{
		{FullDocOff, FullDocOff, "<unset>", "<unset>"},
		{FullDocUpdateLookup, FullDocOff, "updateLookup", "<unset>"},
		{FullDocWhenAvailable, FullDocOff, "whenAvailable", "<unset>"},
		{FullDocOff, FullDocWhenAvailable, "<unset>", "whenAvailable"},
		{FullDocUpdateLookup, FullDocWhenAvailable, "updateLookup", "whenAvailable"},
	} {
		o := apply(StreamParams{FullDocument: c.full, FullDocumentBeforeChange: c.before})
		if str(o.FullDocument) != c.wantFull || str(o.FullDocumentBeforeChange) != c.wantBefore {
			t.Errorf("%s/%s: driver got fullDocument %s, fullDocumentBeforeChange %s", c.full, c.before, str(o.FullDocument), str(o.FullDocumentBeforeChange))
		}
		if o.ResumeAfter != nil || o.MaxAwaitTime == nil {
			t.Errorf("resumeAfter %v maxAwait %v", o.ResumeAfter, o.MaxAwaitTime)
		}
	}
	o := apply(StreamParams{ResumeAfter: token(5)})
	if r, ok := o.ResumeAfter.(bson.Raw); !ok || tokenData(r) != tokenData(token(5)) {
		t.Errorf("resumeAfter %v", o.ResumeAfter)
	}
}

// TestTokenFromDocument reads the "ably" collection's documents as the
// driver returns them: a token document, and unreadable ones (72006).
func TestTokenFromDocument(t *testing.T) {
	good, _ := bson.Marshal(tokenDoc{ID: "orders", ResumeToken: bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: token(7)}})
	tok, err := TokenFromDocument(good)
	if err != nil || tokenData(tok) != tokenData(token(7)) {
		t.Fatalf("good document: %v %v", tok, err)
	}
	for name, doc := range map[string]bson.D{
		"missing": {{Key: "_id", Value: "orders"}},
		"string":  {{Key: "_id", Value: "orders"}, {Key: "resumeToken", Value: "8265..."}},
		"empty":   {{Key: "_id", Value: "orders"}, {Key: "resumeToken", Value: bson.D{}}},
	} {
		raw, _ := bson.Marshal(doc)
		_, err := TokenFromDocument(raw)
		if !errors.Is(err, ErrTokenUnreadable) || !strings.Contains(err.Error(), "resumeToken") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDialUnreachableNamesHost: a refused host fails at once (not after
// the server selection timeout), naming the host.
func TestDialUnreachableNamesHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a hang fails the test
	defer cancel()
	_, err = Dial(ctx, "mongodb://"+addr+"/app", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "cannot reach MongoDB at "+addr) {
		t.Errorf("got %v", err)
	}
	if _, err := Dial(ctx, "mongodb://h:1/?replicaSet=rs0&directConnection=true&loadBalanced=true", time.Second); err == nil {
		t.Error("an invalid URL connected")
	}
}
