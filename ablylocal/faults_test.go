package ablylocal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// faultReq calls the faults control route with key ("" = no credentials).
func faultReq(t *testing.T, s *Server, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		k, secret, _ := strings.Cut(key, ":")
		req.SetBasicAuth(k, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// addFaultHTTP adds a rule through the control route.
func addFaultHTTP(t *testing.T, s *Server, rule string) fault.Active {
	t.Helper()
	code, body := faultReq(t, s, "POST", FaultsPath, s.Keys()[0].String(), rule)
	if code != http.StatusCreated {
		t.Fatalf("POST %s %s: %d %s", FaultsPath, rule, code, body)
	}
	var a fault.Active
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestFaultRouteNeedsTheKey: the control route refuses callers without the
// sandbox key, and bad rules with a message saying what is wrong.
func TestFaultRouteNeedsTheKey(t *testing.T) {
	s := startServer(t, Options{})
	key := s.Keys()[0].String()
	for _, k := range []string{"", strings.SplitN(key, ":", 2)[0] + ":wrong"} {
		if code, body := faultReq(t, s, "GET", FaultsPath, k, ""); code != http.StatusUnauthorized {
			t.Errorf("GET with key %q: %d %s; want 401", k, code, body)
		}
	}
	for rule, want := range map[string]string{
		`{"channel":"a"}`:                         "injects no fault",
		`{"code":40160,"drop":true}`:              "several faults",
		`{"code":123}`:                            "not an Ably error code",
		`{"refuseConnections":true}`:              "needs for",
		`{"code":40160,"color":"red"}`:            "unknown field",
		`{"delayAck":"soon"}`:                     "not a duration",
		`{"channel":"[meta]x","code":40160}`:      "not valid",
		`{"every":"1s","code":40160}`:             "only to drop",
		`{"channel":"demo:*","code":40160,"x":1}`: "unknown field",
	} {
		code, body := faultReq(t, s, "POST", FaultsPath, key, rule)
		if code != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("POST %s: %d %s; want 400 saying %q", rule, code, body, want)
		}
	}
	if code, body := faultReq(t, s, "DELETE", FaultsPath+"/f99", key, ""); code != http.StatusNotFound {
		t.Errorf("DELETE of a missing rule: %d %s", code, body)
	}
	if len(s.Faults()) != 0 {
		t.Fatalf("bad rules were added: %v", s.Faults())
	}
}

// TestFaultRefuseAndClear: a refuse rule NACKs realtime publishes on
// matching channels only (ably-go sees the code) and REST publishes too;
// clearing it lets them through.
func TestFaultRefuseAndClear(t *testing.T) {
	s := startServer(t, Options{})
	key := s.Keys()[0].String()
	a := addFaultHTTP(t, s, `{"channel":"demo:*","code":40160}`)
	if a.ID == "" || a.Kind() != fault.KindRefuse {
		t.Fatalf("added %+v", a)
	}
	c, _ := newRealtime(t, clientOpts(s, true)...)
	err := c.Channels.Get("demo:x").Publish(ctxT(t), "n", "v")
	if errCode(err) != 40160 || !strings.Contains(err.Error(), "fault rule "+a.ID) {
		t.Fatalf("publish on demo:x: %v; want 40160 naming the rule", err)
	}
	if err := c.Channels.Get("other:x").Publish(ctxT(t), "n", "v"); err != nil {
		t.Fatalf("publish on other:x: %v", err)
	}
	rest := newREST(t, clientOpts(s, false)...)
	if err := rest.Channels.Get("demo:y").Publish(ctxT(t), "n", "v"); errCode(err) != 40160 {
		t.Fatalf("REST publish on demo:y: %v; want 40160", err)
	}
	code, body := faultReq(t, s, "GET", FaultsPath, key, "")
	var l fault.List
	if err := json.Unmarshal(body, &l); code != 200 || err != nil || len(l.Faults) != 1 || l.Faults[0].Hits != 2 {
		t.Fatalf("GET: %d %s (%v); want one rule with 2 hits", code, body, err)
	}
	if code, body := faultReq(t, s, "DELETE", FaultsPath, key, ""); code != 200 || !strings.Contains(string(body), `"cleared":1`) {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if err := c.Channels.Get("demo:x").Publish(ctxT(t), "n", "v"); err != nil {
		t.Fatalf("publish after clear: %v", err)
	}
}

// TestFaultDelayAckKeepsOrder: a delayed ACK holds the ACKs behind it on
// the same connection, so ably-go still reads them in order.
func TestFaultDelayAckKeepsOrder(t *testing.T) {
	s := startServer(t, Options{Faults: []fault.Rule{{Channel: "slow:*", DelayAck: fault.Duration(400 * time.Millisecond)}}})
	c, _ := newRealtime(t, clientOpts(s, true)...)
	order := make(chan string, 2)
	start := time.Now()
	if err := c.Channels.Get("slow:1").PublishAsync("n", "v", func(err error) { order <- "slow" }); err != nil {
		t.Fatal(err)
	}
	if err := c.Channels.Get("fast:1").PublishAsync("n", "v", func(err error) { order <- "fast" }); err != nil {
		t.Fatal(err)
	}
	first, second := <-order, <-order
	if first != "slow" || second != "fast" {
		t.Fatalf("ACKs arrived %s, %s; want slow then fast", first, second)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("the delayed ACK came after %s; want at least 400ms", took)
	}
	// Once the delayed one is out, ACKs are immediate again.
	if err := c.Channels.Get("fast:1").Publish(ctxT(t), "n", "v"); err != nil {
		t.Fatal(err)
	}
}

// TestFaultDropOnceResumes: a one-off drop rule cuts the transport of a
// subscriber on a matching channel; ably-go resumes the same connection and
// receives what was published meanwhile; the spent rule is gone.
func TestFaultDropOnceResumes(t *testing.T) {
	s := startServer(t, Options{})
	sub, w := newRealtime(t, clientOpts(s, true, ably.WithDisconnectedRetryTimeout(200*time.Millisecond))...)
	msgs := subscribe(t, sub, "drop:1")
	id := sub.Connection.ID()
	if _, err := s.AddFault(fault.Rule{Channel: "drop:*", Drop: true}); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, ably.ConnectionStateDisconnected)
	pub := newREST(t, clientOpts(s, true)...)
	if err := pub.Channels.Get("drop:1").Publish(ctxT(t), "during", "v"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, ably.ConnectionStateConnected)
	if got := sub.Connection.ID(); got != id {
		t.Fatalf("connection id %s after the drop, want %s (resumed)", got, id)
	}
	if m := next(t, msgs); m.Name != "during" {
		t.Fatalf("got %q, want the message published during the drop", m.Name)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Faults()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the spent drop rule is still listed: %+v", s.Faults())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFaultRefuseConnections: while the rule lasts a new client stays
// DISCONNECTED with 80003; it connects once the rule expires.
func TestFaultRefuseConnections(t *testing.T) {
	s := startServer(t, Options{})
	if _, err := s.AddFault(fault.Rule{RefuseConnections: true, For: fault.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	c, err := ably.NewRealtime(clientOpts(s, true, ably.WithAutoConnect(false), ably.WithDisconnectedRetryTimeout(200*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := watch(c)
	c.Connect()
	ch := w.waitFor(t, ably.ConnectionStateDisconnected)
	if ch.Reason == nil || !strings.Contains(ch.Reason.Error(), "503") && errCode(ch.Reason) != 80003 {
		t.Errorf("disconnected because %v; want the 503 refusal", ch.Reason)
	}
	w.waitFor(t, ably.ConnectionStateConnected)
	if len(s.Faults()) != 0 {
		t.Fatalf("the expired rule is still listed: %+v", s.Faults())
	}
}

// TestFaultRate: a rate rule refuses publishes over its rate per channel
// with 42913, and only on matching channels.
func TestFaultRate(t *testing.T) {
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := startServer(t, Options{Now: func() time.Time { return frozen }, Faults: []fault.Rule{{Channel: "hot:*", Rate: 3}}})
	c, _ := newRealtime(t, clientOpts(s, true)...)
	var refused int
	for i := 0; i < 5; i++ {
		if err := c.Channels.Get("hot:1").Publish(ctxT(t), "n", "v"); errCode(err) == 42913 {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
		if err := c.Channels.Get("cold:1").Publish(ctxT(t), "n", "v"); err != nil {
			t.Fatalf("cold:1: %v", err)
		}
	}
	if refused != 2 {
		t.Fatalf("%d of 5 publishes in one second refused; want 2 over the rate of 3", refused)
	}
}

// TestFaultOptionsValidated: a bad rule in Options stops Start with the
// rule's number and what is wrong.
func TestFaultOptionsValidated(t *testing.T) {
	_, err := Start(nil, Options{Faults: []fault.Rule{{Channel: "a", Code: 40160}, {Channel: "b"}}})
	if err == nil || !strings.Contains(err.Error(), "fault rule 2") || !strings.Contains(err.Error(), "injects no fault") {
		t.Fatalf("Start: %v", err)
	}
}
