package ablylocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// TestRESTRequestTokenWire: numbers or numeric strings for ttl/timestamp,
// JSON and msgpack bodies, TokenDetails with capability as a string, and the
// MAC checked over the values as received (MUST 12).
func TestRESTRequestTokenWire(t *testing.T) {
	s := startServer(t, Options{})
	k := s.Keys()[0]
	ts := time.Now().UnixMilli()
	req := auth.TokenRequest{KeyName: k.Name, Capability: `{"a":["subscribe"]}`, ClientID: "c1", Nonce: "n", TTL: "60000", Timestamp: strconv.FormatInt(ts, 10)}
	mac := auth.SignTokenRequest(req, k.Secret)
	for i, tc := range []struct {
		ct      string
		numbers bool
	}{{"application/json", true}, {"application/json", false}, {"application/x-msgpack", true}, {"application/x-msgpack", false}} {
		body := map[string]any{"keyName": k.Name, "capability": req.Capability, "clientId": "c1", "nonce": fmt.Sprint("n", i), "mac": ""}
		r := req
		r.Nonce = fmt.Sprint("n", i)
		body["mac"] = auth.SignTokenRequest(r, k.Secret)
		if tc.numbers {
			body["ttl"], body["timestamp"] = 60000, ts
		} else {
			body["ttl"], body["timestamp"] = "60000", strconv.FormatInt(ts, 10)
		}
		var b []byte
		if tc.ct == "application/json" {
			b, _ = json.Marshal(body)
		} else {
			b, _ = msgpack.Marshal(body)
		}
		hr, _ := http.NewRequest("POST", "http://"+s.Addr()+"/keys/"+k.Name+"/requestToken", bytes.NewReader(b))
		hr.Header.Set("Content-Type", tc.ct)
		hr.Header.Set("Accept", tc.ct)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var td map[string]any
		if tc.ct == "application/json" {
			err = json.Unmarshal(out, &td)
		} else {
			err = msgpack.Unmarshal(out, &td)
		}
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("case %d: %d %q %v", i, resp.StatusCode, out, err)
		}
		if c, ok := td["capability"].(string); !ok || c != `{"a":["subscribe"]}` || td["token"] == "" || num(td["issued"]) <= 0 || td["clientId"] != "c1" {
			t.Fatalf("case %d: TokenDetails %v", i, td)
		}
	}
	// a MAC over other values is refused
	bad, _ := json.Marshal(map[string]any{"keyName": k.Name, "ttl": 60001, "timestamp": ts, "nonce": "n", "capability": req.Capability, "clientId": "c1", "mac": mac})
	hr, _ := http.NewRequest("POST", "http://"+s.Addr()+"/keys/"+k.Name+"/requestToken", bytes.NewReader(bad))
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("X-Ably-Errorcode") != "40101" {
		t.Fatalf("tampered TokenRequest → %d %s", resp.StatusCode, resp.Header.Get("X-Ably-Errorcode"))
	}
}

// TestHistoryBounds: history keeps at most HistoryLimit messages and drops
// those older than HistoryTTL.
func TestHistoryBounds(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := startServer(t, Options{HistoryLimit: 5, HistoryTTL: time.Hour, Now: clock})
	pub := func(name string, n int) {
		for i := 0; i < n; i++ {
			code, _, _ := httpDo(t, s, "POST", "/channels/"+name+"/messages", fmt.Sprintf(`{"name":"m%d"}`, i), "")
			if code != 201 {
				t.Fatalf("publish → %d", code)
			}
		}
	}
	pub("bounded", 8)
	_, _, body := httpDo(t, s, "GET", "/channels/bounded/messages", "", "")
	if items := body.([]any); len(items) != 5 || items[0].(map[string]any)["name"] != "m7" {
		t.Fatalf("history %v", items)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	_, _, body = httpDo(t, s, "GET", "/channels/bounded/messages", "", "")
	if items := body.([]any); len(items) != 0 {
		t.Fatalf("history after TTL: %v", items)
	}
}
