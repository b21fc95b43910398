package postgres

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
)

// getState reads the node's connector.NodeState over HTTP, as the monitor
// does for nodes in other processes.
func getState(t testing.TB, n *Node) connector.NodeState {
	t.Helper()
	resp, err := http.Get("http://" + n.HealthAddr() + connector.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st connector.NodeState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("decode %s: %v", connector.StatePath, err)
	}
	return st
}

func channelOf(st connector.NodeState, name string) *connector.ChannelState {
	for i := range st.Channels {
		if st.Channels[i].Channel == name {
			return &st.Channels[i]
		}
	}
	return nil
}

// TestDebugStateRetryAndRecovery: with the endpoint down a channel's head
// fails and is retried; /debug/state reports the attempts, the last error
// with its time, the next retry, the Ably connection's state and reason,
// and the node's notification, PID and held rows. Once the endpoint is
// back and the row is acknowledged, the last error is gone.
func TestDebugStateRetryAndRecovery(t *testing.T) {
	e := newEnv(t)
	addr := e.ably.Addr()
	events, unsub := e.bus.Subscribe(10000)
	defer unsub()
	n := startNode(t, e.options())
	waitFor(t, 10*time.Second, "Ably connected", func() bool { return getState(t, n).Ably.State == "connected" })
	waitFor(t, 10*time.Second, "node listening", func() bool {
		return e.count(t, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", "livesync-dev listen "+n.ID()) == 1
	})
	e.ably.Close()
	e.exec(t, `INSERT INTO outbox (mutation_id, channel, name, data) VALUES ('a', 'st', 'n', '1')`)
	waitEvent(t, events, 20*time.Second, "a failed publish", func(ev connector.Event) bool { return ev.Kind == connector.EventFailed })
	var st connector.NodeState
	waitFor(t, 10*time.Second, "a retry scheduled on st", func() bool {
		st = getState(t, n)
		c := channelOf(st, "st")
		return c != nil && c.NextRetry != nil && c.LastError != nil && c.Attempts >= 1 && c.Head > 0 && st.LastNotification != nil
	})
	c := channelOf(st, "st")
	if c.LastError.Message == "" || c.LastError.Time.IsZero() || c.Owner != n.ID() || c.Blocked || c.Queued != 1 {
		t.Errorf("channel state %+v (error %+v)", c, c.LastError)
	}
	if st.Node != n.ID() || st.Kind != "postgres" || st.PID != os.Getpid() || st.Held != 1 ||
		st.LastNotification == nil || st.LastClaim == nil || st.Share != "0/1" || st.Time.IsZero() {
		t.Errorf("node state %+v", st)
	}
	waitFor(t, 10*time.Second, "Ably reported not connected, with a reason", func() bool {
		a := getState(t, n).Ably
		return a.State != "connected" && a.Reason != nil && a.Since != nil
	})

	e.startAbly(t, addr)
	waitFor(t, 30*time.Second, "row published", func() bool {
		return e.count(t, "SELECT count(*) FROM outbox WHERE NOT processed") == 0
	})
	waitFor(t, 10*time.Second, "last error cleared after the success", func() bool {
		st = getState(t, n)
		c := channelOf(st, "st")
		return (c == nil || (c.LastError == nil && c.NextRetry == nil && c.Attempts == 0)) && st.Ably.State == "connected" && st.Held == 0
	})
}

// TestGroupStates: a group reports one NodeState per node, in order.
func TestGroupStates(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Nodes = 2
	g, err := StartNodes(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(context.Background()) })
	st := g.States()
	if len(st) != 2 || st[0].Node != g.Nodes[0].ID() || st[1].Node != g.Nodes[1].ID() || st[0].Kind != "postgres" {
		t.Fatalf("states %+v", st)
	}
}
