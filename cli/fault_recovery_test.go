package cli

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// TestRecoveryAfterLongEndpointOutage: the endpoint stops long enough for a
// row's retry backoff to grow to several seconds; once it is back on the
// same port with the same key, the connector reconnects within the local
// retry timeout and the waiting row goes out at once, not when its backoff
// ends. The deadline is far below the backoff the row had reached.
func TestRecoveryAfterLongEndpointOutage(t *testing.T) {
	s := newScenario(t, scenarioOptions{yaml: "connector:\n  retry:\n    min: 2s\n    max: 30s\n"})
	s.connector()
	s.awaitFlowed("a row flows", 10*time.Second, s.insert("--channel", "c:1", "--data", `{"n":1}`)...)
	tail := startTail(t, "c:1")
	s.stopEndpoint()
	ids := s.insert("--channel", "c:1", "--data", `{"n":2}`, "--count", "3")
	ids = append(ids, s.insert("--channel", "c:2", "--data", `{"n":3}`)...)
	// The third failed attempt waits 4-8 s before the fourth.
	s.await("the row failed three times", 30*time.Second, func() bool {
		for _, x := range s.status().Stuck {
			if x.SequenceID == ids[0] && x.Attempts >= 3 {
				return true
			}
		}
		return false
	})
	s.startEndpoint()
	back := time.Now()
	took := s.awaitFlowed("rows flow once the endpoint is back", 3*time.Second, ids...)
	t.Logf("rows flowed %s after the endpoint came back (the row's backoff had reached 4-8 s)", took.Round(time.Millisecond))
	// The tail re-attached too: a row published now reaches it. (Rows sent
	// while it was re-attaching are not replayed: a restarted endpoint has
	// no history.)
	probe := s.insert("--channel", "c:1", "--data", `{"probe":true}`)[0]
	want := strconv.FormatInt(probe, 10)
	for deadline := back.Add(5 * time.Second); ; {
		var m struct{ ID string }
		if err := json.Unmarshal([]byte(readLine(t, tail)), &m); err != nil {
			t.Fatal(err)
		}
		if m.ID == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tail did not receive row %s within 5s of the endpoint coming back", want)
		}
	}
	t.Logf("the tail received a new row %s after the endpoint came back", time.Since(back).Round(time.Millisecond))
}
