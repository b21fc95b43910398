package view_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// mongoSnapshot adds a Mongo connector's state (as the monitor reports it:
// connector.NodeState in Connectors, its diagnosis in StuckConnectors) to
// the fake source's snapshot.
func mongoSnapshot(o *view.Options, st connector.MongoState, stuck ...monitor.StuckConnector) {
	src := o.Source.(*fake.Source)
	snap := *src.Snap
	snap.Connectors = append(append([]connector.NodeState(nil), snap.Connectors...),
		connector.NodeState{Node: "mongo:orders", Kind: connector.KindMongo, Mongo: &st})
	snap.StuckConnectors = stuck
	src.Snap = &snap
}

// TestOverviewShowsMongo: with a Mongo connector in the snapshot the
// overview shows its stream state, rate, token age, 72004 skips and, when
// the monitor finds it stuck, the error code and reason; the Stuck
// screen's Diagnosis pane says what to do. Without one nothing changes
// (the goldens cover that).
func TestOverviewShowsMongo(t *testing.T) {
	stored := time.Now()
	b := setup(t, 3, func(o *view.Options) {
		mongoSnapshot(o, connector.MongoState{Stream: connector.MongoStuck, EventsPerSecond: 12, TokenStored: &stored, TokenAgeSeconds: 3,
			SkippedNoChannel: 2, LastError: &connector.ErrorInfo{Code: 72008, Message: "72008: change stream history lost"}},
			monitor.StuckConnector{Node: "mongo:orders", Kind: "mongo", Source: "app.orders", Reason: monitor.HistoryLost, ErrorCode: 72008,
				Detail: "change stream history lost", Action: "delete the token: db.getSiblingDB(\"app\").ably.deleteOne({_id: \"orders\"})"})
	})
	text := b.screenText(t)
	for _, want := range []string{"Mongo stuck 12.0/s token 3.0s", "no-channel 2", "error 72008 history-lost"} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q:\n%s", want, strings.SplitN(text, "\n", 3)[1])
		}
	}
	b.typ("4")
	contains(t, b.screenText(t), "Connector mongo:orders (app.orders) [history-lost]", "ably.deleteOne")
}

// insertingMongo also records MongoDB inserts.
type insertingMongo struct {
	*fake.Source
	docs []string
}

func (m *insertingMongo) MongoAvailable() bool { return true }

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
		ms = &insertingMongo{Source: o.Source.(*fake.Source)}
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
