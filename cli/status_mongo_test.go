package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/connector/mongo/mongotest"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// mongoScenario is a real mongo.Connector built from the stack's options
// (only the MongoDB server is a stand-in: mongotest behind the seam),
// serving its connector.NodeState over HTTP and registered in the
// sandbox, where `status` finds it.
type mongoScenario struct {
	*scenario
	srv  *mongotest.Server
	stk  *stack.Stack
	rule string
}

func newMongoScenario(t *testing.T) *mongoScenario {
	s := newScenario(t, scenarioOptions{})
	stk, err := stack.Load(stack.Params{})
	if err != nil {
		t.Fatal(err)
	}
	return &mongoScenario{scenario: s, srv: mongotest.New(), stk: stk, rule: stk.Config.Mongo.Collection}
}

// start starts the connector with the stack's options on a free port.
func (m *mongoScenario) start() *mongo.Connector {
	m.t.Helper()
	ep, err := m.stk.Endpoint(stack.EndpointParams{})
	if err != nil {
		m.t.Fatal(err)
	}
	o := m.stk.MongoOptions(ep)
	o.Source, o.Tokens = m.srv, m.srv
	o.HealthAddr = "127.0.0.1:0"
	o.RetryMin, o.RetryMax, o.CheckpointInterval = 10*time.Millisecond, 100*time.Millisecond, 20*time.Millisecond
	c, err := mongo.Start(context.Background(), o)
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// snapshot is `status --json`, decoded into the monitor's own type.
func (m *mongoScenario) snapshot() monitor.Snapshot {
	m.t.Helper()
	out, stderr, code := runCLI(m.t, "status", "--json")
	if code != 0 {
		m.t.Fatalf("status --json: exit %d: %s", code, stderr)
	}
	var snap monitor.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		m.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return snap
}

// awaitStuck waits until status reports the connector with reason ("" =
// not stuck and streaming) and returns that report.
func (m *mongoScenario) awaitStuck(reason monitor.Reason) (monitor.StuckConnector, connector.NodeState) {
	m.t.Helper()
	var sc monitor.StuckConnector
	var ns connector.NodeState
	m.await(fmt.Sprintf("status reports the mongo connector %q", reason), 20*time.Second, func() bool {
		snap := m.snapshot()
		ns = connector.NodeState{}
		for _, n := range snap.Connectors {
			if n.Kind == connector.KindMongo {
				ns = n
			}
		}
		if ns.Mongo == nil {
			return false
		}
		if reason == "" {
			return len(snap.StuckConnectors) == 0 && ns.Mongo.Stream == connector.MongoStreaming
		}
		for _, x := range snap.StuckConnectors {
			if x.Reason == reason {
				sc = x
				return true
			}
		}
		return false
	})
	return sc, ns
}

// TestStatusReportsStuckMongoConnector: a real Mongo connector serving its
// state over HTTP, the monitor reading it through the sandbox's registry,
// and `status` diagnosing it: history lost (72008), token store failing
// (72007) and an unreadable token (72006) each come out with a reason,
// detail and action like a stuck row; doing what the action says clears it.
func TestStatusReportsStuckMongoConnector(t *testing.T) {
	m := newMongoScenario(t)
	db, node := m.stk.Config.Mongo.Database, mongo.NodeID(m.rule)
	deleteToken := fmt.Sprintf("db.getSiblingDB(%q).ably.deleteOne({_id: %q})", db, m.rule)

	// 72008: the stored token is no longer in the history.
	m.srv.Add(mongotest.Event(10, "orders"))
	m.srv.SetToken(m.rule, mongotest.Token(1))
	c := m.start()
	sc, ns := m.awaitStuck(monitor.HistoryLost)
	if sc.Node != node || sc.Kind != connector.KindMongo || sc.Source != db+"."+m.rule || sc.ErrorCode != 72008 ||
		!strings.Contains(sc.Detail, "history lost") || !strings.Contains(sc.Action, "may not have been published") ||
		!strings.Contains(sc.Action, deleteToken) || sc.Since == nil {
		t.Fatalf("stuck connector %+v", sc)
	}
	if ns.Node != node || ns.Mongo.Stream != connector.MongoStuck || ns.Mongo.LastError == nil || ns.Mongo.LastError.Code != 72008 ||
		ns.Mongo.ResumeToken == "" || ns.Mongo.TokenClusterTime == nil {
		t.Fatalf("connector state %+v mongo %+v", ns, ns.Mongo)
	}
	human, _, _ := runCLI(t, "status")
	mustContain(t, "status", human, "stuck connectors 1", node+" "+db+"."+m.rule+" [history-lost]", deleteToken)
	m.srv.SetToken(m.rule, nil) // the advised action
	m.awaitStuck("")

	// 72007: the token cannot be stored; events still flow.
	m.srv.FailSave(errors.New("not authorized on app to execute command update"))
	m.srv.Add(mongotest.Event(11, "orders"))
	sc, _ = m.awaitStuck(monitor.TokenStoreFailing)
	if sc.ErrorCode != 72007 || !strings.Contains(sc.ErrorMessage, "unable to store resume token: not authorized") ||
		!strings.Contains(sc.Action, "readWrite on "+db+".ably") {
		t.Fatalf("stuck connector %+v", sc)
	}
	m.srv.FailSave(nil) // the user may write to <db>.ably again
	_, ns = m.awaitStuck("")
	if ns.Mongo.TokenStoreFailing || string(m.srv.StoredToken(m.rule)) != string(mongotest.Token(11)) || ns.Mongo.Published != 1 {
		t.Fatalf("after the fix: %+v, stored %v", ns.Mongo, m.srv.StoredToken(m.rule))
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// 72006: the stored token cannot be read.
	m.srv.FailLoad(fmt.Errorf("%w: field resumeToken is an int32", mongo.ErrTokenUnreadable))
	m.start()
	sc, _ = m.awaitStuck(monitor.TokenUnreadable)
	if sc.ErrorCode != 72006 || !strings.Contains(sc.ErrorMessage, "unable to resume change stream") || !strings.Contains(sc.Action, deleteToken) {
		t.Fatalf("stuck connector %+v", sc)
	}
	m.srv.FailLoad(nil) // deleting the document leaves nothing unreadable
	m.srv.SetToken(m.rule, nil)
	m.awaitStuck("")
}

// TestUpHandsInProcessMongoStateToTheMonitor: `up` passes its Mongo
// connector's connector.NodeState to the monitor in process, beside its
// outbox nodes'.
func TestUpHandsInProcessMongoStateToTheMonitor(t *testing.T) {
	m := newMongoScenario(t)
	m.srv.FailLoad(fmt.Errorf("%w: not a document", mongo.ErrTokenUnreadable))
	c := m.start()
	up := &upStack{mongo: &mongoRunner{m: &stack.Mongo{Connector: c}}}
	pool, err := m.stk.Pool(context.Background(), "up-mongo-state-test", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	opts := m.stk.MonitorOptions(true, monitor.NodeStatesFunc(up.nodeStates))
	opts.Connector = monitor.NodeStatesFunc(up.nodeStates) // in process only, not the registry
	mon := monitor.New(pool, opts)
	m.await("token-unreadable reported in process", 20*time.Second, func() bool {
		snap, err := mon.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(snap.StuckConnectors) == 1 && snap.StuckConnectors[0].Reason == monitor.TokenUnreadable &&
			len(snap.Connectors) == 1 && snap.Connectors[0].Kind == connector.KindMongo
	})
}
