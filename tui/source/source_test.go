package source_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/source"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newSource opens a monitor on a fresh database and wraps it.
func newSource(t *testing.T, opts source.Options) *source.Source {
	t.Helper()
	db := pgtest.NewDB(t)
	pool, err := dbconn.Pool(context.Background(), db.URL, "tui-source-test", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	opts.Monitor = monitor.New(pool, monitor.Options{})
	s := source.New(context.Background(), opts)
	t.Cleanup(s.Close)
	return s
}

func TestForwardsConnectorEvents(t *testing.T) {
	var bus connector.Bus
	s := newSource(t, source.Options{Buses: []*connector.Bus{&bus}})
	bus.Emit(connector.Event{Kind: connector.EventPublished, Node: "n1", Channel: "c", SequenceID: 7})
	select {
	case e := <-s.Events():
		if e.SequenceID != 7 || e.Kind != connector.EventPublished {
			t.Fatalf("event = %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event forwarded")
	}
	if s.TailMessages() != nil {
		t.Fatal("tail messages without a tail")
	}
	if _, err := s.Occupancy(context.Background(), "c"); !errors.Is(err, source.ErrNoEndpoint) {
		t.Fatalf("occupancy err = %v", err)
	}
}

// TestDashboardOverRealOutbox inserts through the dashboard's form path and
// sees the row in the Outbox view and the backlog, on a real Postgres.
func TestDashboardOverRealOutbox(t *testing.T) {
	s := newSource(t, source.Options{})
	ids, err := s.Insert(context.Background(), monitor.OutboxInsertParams{Channel: "orders:1", Name: "created",
		Data: []byte(`{"n":12345678901234567890}`), Count: 3})
	if err != nil || len(ids) != 3 {
		t.Fatalf("insert: %v %v", ids, err)
	}
	a, err := view.New(view.Options{Source: s, Async: func(f func()) { f() }})
	if err != nil {
		t.Fatal(err)
	}
	a.Refresh()
	a.SetScreen(view.ScreenOutbox)
	_, doc, ok := a.Focused().Inspect()
	if !ok || !strings.Contains(string(doc), `"channel":"orders:1"`) || !strings.Contains(string(doc), `12345678901234567890`) {
		t.Fatalf("first row = %s", doc)
	}
	sql, err := s.ActionSQL("delete", monitor.OutboxActionParams{IDs: ids[:1]})
	if err != nil || !strings.Contains(strings.ToUpper(sql), "DELETE") {
		t.Fatalf("sql = %q, %v", sql, err)
	}
	res, err := s.Delete(context.Background(), monitor.OutboxActionParams{IDs: ids[:1]})
	if err != nil || len(res.SequenceIDs) != 1 {
		t.Fatalf("delete: %+v %v", res, err)
	}
	snap, err := s.Snapshot(context.Background())
	if err != nil || snap.Outbox.Pending != 2 {
		t.Fatalf("snapshot pending = %v, %v", snap, err)
	}
}
