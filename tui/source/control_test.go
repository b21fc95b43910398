package source_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/gdamore/tcell/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/pgtest"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
	"github.com/livesync-dev/livesync-dev/tui/source"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// keys types s into the app ('\r' is Enter, '\t' Tab).
func keys(a *view.App, s string) {
	for _, r := range s {
		switch r {
		case '\r':
			a.HandleKey(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))
		case '\t':
			a.HandleKey(tcell.NewEventKey(tcell.KeyTab, 0, tcell.ModNone))
		default:
			a.HandleKey(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
		}
	}
}

// TestPaletteFaultsAndInProcessKillOverRealParts: `:fault add` in the
// dashboard puts the rule on a real local endpoint through the source's
// fault client, `:fault clear` (confirmed) removes it; K on a node running
// in this process kills it as a crash would: its node row stays to expire
// (a graceful stop deletes it), and pause is refused with the reason.
func TestPaletteFaultsAndInProcessKillOverRealParts(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	srv, err := ablylocal.Start(ctx, ablylocal.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	key := srv.Keys()[0].String()
	pool, err := dbconn.Pool(ctx, db.URL, "tui-control-test", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	node, err := postgres.Start(ctx, postgres.Options{DatabaseURL: db.URL,
		Ably: append(ablylocal.ClientOptions(srv.Addr(), key), ably.WithLogLevel(ably.LogNone))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Kill)
	s := source.New(ctx, source.Options{Monitor: monitor.New(pool, monitor.Options{}),
		Faults: &ablylocal.FaultClient{Addr: srv.Addr(), Key: key},
		InProcess: func(id string) (func(), bool) {
			if id == node.ID() {
				return node.Kill, true
			}
			return nil, false
		}})
	t.Cleanup(s.Close)
	a, err := view.New(view.Options{Source: s, Async: func(f func()) { f() }})
	if err != nil {
		t.Fatal(err)
	}
	a.Refresh()

	keys(a, ":fault add demo:* 40160\r")
	rules := srv.Faults()
	if len(rules) != 1 || rules[0].Channel != "demo:*" || rules[0].Code != 40160 {
		t.Fatalf("endpoint rules = %+v (flash %q)", rules, a.Flash())
	}
	keys(a, ":fault clear\r\t\r")
	if n := len(srv.Faults()); n != 0 {
		t.Fatalf("confirmed :fault clear left %d rules (flash %q)", n, a.Flash())
	}

	a.SetScreen(view.ScreenNodes)
	if title, _, ok := a.Focused().Inspect(); !ok || !strings.Contains(title, node.ID()) {
		t.Fatalf("Nodes view selects %q, want node %s", title, node.ID())
	}
	keys(a, "P\t\r")
	if f := a.Flash(); !strings.Contains(f, "refused") || !strings.Contains(f, "freeze the dashboard") {
		t.Fatalf("pause of an in-process node: flash %q", f)
	}
	keys(a, "K\t\r")
	if f := a.Flash(); !strings.Contains(f, "stopped in this process as a crash would") {
		t.Fatalf("kill: flash %q", f)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE id = $1`, node.ID()).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("node row after kill: %d, %v (a crash leaves it to expire)", rows, err)
	}
	// A node of no registered process is named in the refusal.
	if _, err := s.NodeSignal(ctx, model.NodeSignalParams{Node: "elsewhere", Action: model.NodeKill}); !errors.Is(err, stack.ErrNoNodes) {
		t.Fatalf("signal without a stack: %v", err)
	}
}

// TestOutboxHoldHoldsUntilTheSourceCloses: the source's hold takes the
// row lock on a real Postgres (another transaction's NOWAIT fails) and
// lets it go when the dashboard quits.
func TestOutboxHoldHoldsUntilTheSourceCloses(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	pool, err := dbconn.Pool(ctx, db.URL, "tui-hold-test", 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := source.New(ctx, source.Options{Monitor: monitor.New(pool, monitor.Options{})})
	ids, err := s.Insert(ctx, monitor.OutboxInsertParams{Channel: "hold:1", Name: "n", Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.OutboxHold(ctx, monitor.OutboxHoldParams{SequenceID: ids[0], Duration: time.Hour, OnHeld: func(pid int) { held <- pid }})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("hold ended before holding: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the lock was not taken")
	}
	lockNow := func() error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		_, err = tx.Exec(ctx, `SELECT 1 FROM outbox WHERE sequence_id = $1 FOR UPDATE NOWAIT`, ids[0])
		return err
	}
	var pe *pgconn.PgError
	if err := lockNow(); !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Fatalf("lock while held: %v, want lock_not_available", err)
	}
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hold: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("closing the source did not end the hold")
	}
	if err := lockNow(); err != nil {
		t.Fatalf("lock after release: %v", err)
	}
}

// TestPaletteFaultWithoutLocalEndpoint: against real Ably the palette says
// what the CLI says, and what to do.
func TestPaletteFaultWithoutLocalEndpoint(t *testing.T) {
	s := newSource(t, source.Options{})
	if _, err := s.FaultList(context.Background()); !errors.Is(err, stack.ErrFaultsNeedLocal) {
		t.Fatalf("fault list: %v", err)
	}
	a, err := view.New(view.Options{Source: s, Async: func(f func()) { f() }})
	if err != nil {
		t.Fatal(err)
	}
	keys(a, ":fault add demo:* 40160\r")
	if f := a.Flash(); !strings.Contains(f, "fault add failed: fault injection needs the local endpoint") || !strings.Contains(f, "sandbox up") {
		t.Fatalf("flash %q", f)
	}
}
