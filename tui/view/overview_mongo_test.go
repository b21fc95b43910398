package view_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// mongoSource is the fake source plus a Mongo connector state.
type mongoSource struct {
	*fake.Source
	st mongo.State
}

func (m *mongoSource) MongoState() (mongo.State, bool) { return m.st, true }

// TestOverviewShowsMongo: with a Mongo connector the overview shows its
// stream state, rate, token age, 72004 skips and a stuck error code;
// without one nothing changes (the goldens cover that).
func TestOverviewShowsMongo(t *testing.T) {
	stored := time.Now()
	var ms *mongoSource
	b := setup(t, 3, func(o *view.Options) {
		ms = &mongoSource{Source: o.Source.(*fake.Source), st: mongo.State{Stream: mongo.StreamStuck, EventsPerSecond: 12,
			TokenStoredAt: &stored, TokenAgeSeconds: 3, SkippedNoChannel: 2, LastErrorCode: mongo.CodeHistoryLost}}
		o.Source = ms
	})
	text := b.screenText(t)
	for _, want := range []string{"Mongo stuck 12.0/s token 3.0s", "no-channel 2", "error 72008"} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q:\n%s", want, strings.SplitN(text, "\n", 3)[1])
		}
	}
}

// insertingMongo also records MongoDB inserts.
type insertingMongo struct {
	mongoSource
	docs []string
}

func (m *insertingMongo) MongoInsert(_ context.Context, doc string, count int) ([]string, error) {
	for range count {
		m.docs = append(m.docs, doc)
	}
	return []string{"65a1b2c3d4e5f60718293a4b"}, nil
}

// TestInsertFormOffersMongo: with the Mongo connector running, the insert
// form has a MongoDB checkbox; checked, Data must be a document (channel
// and name do not apply) and Insert writes it through the source.
func TestInsertFormOffersMongo(t *testing.T) {
	var ms *insertingMongo
	b := setup(t, 5, func(o *view.Options) {
		ms = &insertingMongo{mongoSource: mongoSource{Source: o.Source.(*fake.Source), st: mongo.State{Stream: mongo.StreamStreaming}}}
		o.Source = ms
	})
	b.typ("i")
	f := b.app.Overlay().(*view.InsertForm)
	f.SetField(view.FieldChannel, "")
	f.SetField(view.FieldData, `[1]`)
	for range 7 {
		b.key(tcell.KeyTab)
	}
	b.key(tcell.KeyEnter) // checks the MongoDB box
	if s := f.Status(); !strings.Contains(s, "must be a JSON object") {
		t.Fatalf("status = %q, want the document error", s)
	}
	f.SetField(view.FieldData, `{"qty": 2}`)
	f.SetField(view.FieldCount, "2")
	if s := f.Status(); !strings.Contains(s, "ready") {
		t.Fatalf("status = %q, want ready (no channel needed)", s)
	}
	b.key(tcell.KeyTab)
	b.key(tcell.KeyEnter) // Insert
	if len(ms.docs) != 2 || ms.docs[0] != `{"qty": 2}` {
		t.Fatalf("mongo inserts %q", ms.docs)
	}
	if _, _, ins := b.src.Calls(); len(ins) != 0 {
		t.Errorf("outbox inserts %+v", ins)
	}
	if !strings.Contains(b.app.Flash(), "inserted 1 document: 65a1b2c3d4e5f60718293a4b") {
		t.Errorf("flash = %q", b.app.Flash())
	}
}

// TestInsertFormWithoutMongo: no checkbox when no Mongo connector runs.
func TestInsertFormWithoutMongo(t *testing.T) {
	b := setup(t, 5, nil)
	b.typ("i")
	if strings.Contains(b.screenText(t), view.FieldMongo) {
		t.Error("MongoDB offered without a Mongo connector")
	}
}
