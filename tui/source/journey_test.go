package source_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/gdamore/tcell/v2"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/localdebug"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/source"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// screen draws the app on a w×h simulation screen and returns its text.
func screen(t *testing.T, a *view.App, w, h int) string {
	t.Helper()
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	defer s.Fini()
	s.SetSize(w, h)
	a.Root().SetRect(0, 0, w, h)
	a.Root().Draw(s)
	s.Show()
	cells, cw, ch := s.GetContents()
	var b strings.Builder
	for y := range ch {
		for x := range cw {
			if r := cells[y*cw+x].Runes; len(r) > 0 {
				b.WriteString(string(r))
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestDashboardJourneyOverRealNode: on a real Postgres with a real
// connector node publishing to the local endpoint, Enter on a pending
// row in the Outbox view traces it (in the outbox, waiting); once the node
// has published it, Enter on its message in the Channels panel shows the
// node's claim, send, ACK and deletion and the endpoint's delivery record
// — the journey `outbox trace` prints, through the dashboard's source.
func TestDashboardJourneyOverRealNode(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	srv, err := ablylocal.Start(ctx, ablylocal.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	key := srv.Keys()[0].String()
	pool, err := dbconn.Pool(ctx, db.URL, "tui-journey-test", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	var node *postgres.Node
	nodes := monitor.InProcessNodes{
		States: func(context.Context) ([]connector.NodeState, error) {
			if node == nil {
				return nil, nil
			}
			return []connector.NodeState{node.State()}, nil
		},
		Journeys: func(_ context.Context, q connector.JourneyQuery) ([]connector.JournalReply, error) {
			if node == nil {
				return nil, nil
			}
			return []connector.JournalReply{node.Journeys(q)}, nil
		},
	}
	client := &http.Client{Timeout: 2 * time.Second}
	records := func(ctx context.Context, channel, id string) ([]localdebug.MessageRecord, error) {
		r, err := localdebug.FetchMessages(ctx, client, "http://"+srv.Addr(), key, channel, id)
		return r.Records, err
	}
	bus := &connector.Bus{}
	s := source.New(ctx, source.Options{Monitor: monitor.New(pool, monitor.Options{Connector: nodes}),
		Buses: []*connector.Bus{bus}, EndpointRecords: records})
	t.Cleanup(s.Close)
	ids, err := s.Insert(ctx, monitor.OutboxInsertParams{Channel: "journey:1", Name: "created", Data: []byte(`{"a":1}`), MutationID: "journey-mut-1"})
	if err != nil {
		t.Fatal(err)
	}
	// A later row on the channel, so completion deletes the first (the
	// newest processed row stays as the tombstone).
	if _, err := s.Insert(ctx, monitor.OutboxInsertParams{Channel: "journey:1", Name: "created", Data: []byte(`{"a":2}`)}); err != nil {
		t.Fatal(err)
	}

	a, err := view.New(view.Options{Source: s, Async: func(f func()) { f() }})
	if err != nil {
		t.Fatal(err)
	}
	a.Refresh()
	a.SetScreen(view.ScreenOutbox)
	a.HandleKey(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))
	if _, ok := a.Overlay().(*view.JourneyView); !ok {
		t.Fatalf("enter on the row: overlay %T, want its journey", a.Overlay())
	}
	text := screen(t, a, 160, 40)
	for _, want := range []string{"row " + strconv.FormatInt(ids[0], 10) + " on journey:1 (name created, mutation journey-mut-1): in the outbox, waiting", "STAGE"} {
		if !strings.Contains(text, want) {
			t.Errorf("pending row's journey lacks %q:\n%s", want, text)
		}
	}
	a.HandleKey(tcell.NewEventKey(tcell.KeyEscape, 0, tcell.ModNone))

	// A subscriber, so the endpoint delivers the message to someone.
	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(srv.Addr(), key), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := ablylog.AwaitConnected(wctx, rt); err != nil {
		t.Fatal(err)
	}
	got := make(chan *ably.Message, 8)
	if _, err := rt.Channels.Get("journey:1").SubscribeAll(wctx, func(m *ably.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	events, _ := bus.Subscribe(64)
	node, err = postgres.Start(ctx, postgres.Options{DatabaseURL: db.URL,
		Ably:         append(ablylocal.ClientOptions(srv.Addr(), key), ably.WithLogLevel(ably.LogNone)),
		PollInterval: 100 * time.Millisecond, CompletionFlush: 20 * time.Millisecond, Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = node.Stop(sctx)
	})
	var published connector.Event
	for published.Kind != connector.EventPublished || published.SequenceID != ids[0] {
		select {
		case published = <-events:
		case <-wctx.Done():
			t.Fatal("the node never published the row")
		}
	}
	select {
	case <-got:
	case <-wctx.Done():
		t.Fatal("the subscriber never got the message")
	}
	// Completion deletes the row; its journey then comes from the journal.
	for {
		var n int
		if err := pool.QueryRow(wctx, "SELECT count(*) FROM outbox WHERE sequence_id = $1", ids[0]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		select {
		case <-wctx.Done():
			t.Fatal("the row was never deleted")
		case <-time.After(20 * time.Millisecond): // polling the database: no event says "deleted"
		}
	}
	a.ApplyEvents([]connector.Event{published})
	a.SetScreen(view.ScreenChannels)
	a.HandleKey(tcell.NewEventKey(tcell.KeyTab, 0, tcell.ModNone)) // the Channels panel
	a.HandleKey(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))
	v, ok := a.Overlay().(*view.JourneyView)
	if !ok || v.Journey() == nil {
		t.Fatalf("enter on the message: overlay %T, want its journey", a.Overlay())
	}
	text = screen(t, a, 160, 40)
	for _, want := range []string{"gone from the outbox (deleted after publishing)", "claim ", "send ", "ack ", "deleted ",
		"accepted ", "<- slowest", "delivered to 1 subscriber(s) by the local endpoint", node.ID()[:8]} {
		if !strings.Contains(text, want) {
			t.Errorf("published row's journey lacks %q:\n%s", want, text)
		}
	}
}
