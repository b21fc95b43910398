package mongo

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/livesync-dev/livesync-dev/connector"
)

// TestStateServedLikeAnOutboxNode: with a health address and a state
// directory the connector registers in .livesync/nodes and serves its
// connector.NodeState (Kind mongo) at connector.StatePath; Stop removes the
// registration. (The monitor's side is tested in cli: the monitor imports
// this package through doctor.)
func TestStateServedLikeAnOutboxNode(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	o := e.options()
	o.HealthAddr, o.StateDir = "127.0.0.1:0", dir
	c := e.start(t, o)
	waitState(t, c, "stream open", func(s connector.MongoState) bool { return s.Stream == connector.MongoStreaming })
	regs, err := connector.ReadRegistrations(dir)
	if err != nil || len(regs) != 1 || regs[0].ID != "mongo:orders" || regs[0].Kind != connector.KindMongo || regs[0].HealthAddr != c.HealthAddr() {
		t.Fatalf("registrations %+v (%v)", regs, err)
	}
	resp, err := http.Get("http://" + c.HealthAddr() + connector.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	var st connector.NodeState
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "mongo:orders" || st.Kind != connector.KindMongo || st.Mongo == nil || st.Mongo.Stream != connector.MongoStreaming ||
		st.Mongo.Database != "app" || st.Mongo.Collection != "orders" || st.Mongo.Rule != "orders" || len(st.Channels) != 0 {
		t.Fatalf("state %+v mongo %+v", st, st.Mongo)
	}
	resp, err = http.Get("http://" + c.HealthAddr() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st.Ably.State == "connected" && resp.StatusCode != http.StatusOK {
		t.Errorf("/health %s with the stream open and Ably connected", resp.Status)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(connector.RegistrationFile(dir, "mongo:orders")); !os.IsNotExist(err) {
		t.Errorf("registration left behind: %v", err)
	}
}
