package ablylocal

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ably/ably-go/ably"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/livesync-dev/livesync-dev/ablybatch"
)

// httpDo performs a REST request with the server's key (Basic) and
// returns the status, headers and decoded body.
func httpDo(t testing.TB, s *Server, method, path, body, accept string) (int, http.Header, any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), method, "http://"+s.Addr()+path, strings.NewReader(body))
	req.SetBasicAuth(s.Keys()[0].Name, s.Keys()[0].Secret)
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if strings.Contains(accept, "msgpack") {
		err = msgpack.Unmarshal(b, &v)
	} else if len(b) > 0 {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return resp.StatusCode, resp.Header, v
}

// TestRESTTimePublishHistory covers /time, publish (object and array, 201
// body), /messages and /history with Link paging, Accept-driven encoding and
// error bodies (MUST 11).
func TestRESTTimePublishHistory(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		rest := newREST(t, clientOpts(s, binary)...)
		if tm, err := rest.Time(ctxT(t)); err != nil || tm.IsZero() {
			t.Fatalf("time: %v %v", tm, err)
		}
		name := uniq(t, "hist")
		for i := 0; i < 25; i++ {
			if err := rest.Channels.Get(name).Publish(ctxT(t), fmt.Sprint("m", i), fmt.Sprint(i)); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
		items := historyItems(t, rest.Channels.Get(name).History(ably.HistoryWithLimit(10)))
		if len(items) != 25 || items[0].Name != "m24" || items[24].Name != "m0" {
			t.Fatalf("backwards history over 3 pages: %d items, first %q", len(items), items[0].Name)
		}
		fw := historyItems(t, rest.Channels.Get(name).History(ably.HistoryWithLimit(7), ably.HistoryWithDirection(ably.Forwards)))
		if len(fw) != 25 || fw[0].Name != "m0" || fw[24].Name != "m24" {
			t.Fatalf("forwards history: %d items", len(fw))
		}
		if items[0].ID == "" || items[0].Timestamp == 0 {
			t.Fatalf("history item lacks id/timestamp: %+v", items[0])
		}
	})
	accepts := map[string]string{"json": "application/json", "msgpack": "application/x-msgpack"}
	for fname, accept := range accepts {
		t.Run("raw-"+fname, func(t *testing.T) {
			name := uniq(t, "raw")
			code, hdr, body := httpDo(t, s, "POST", "/channels/"+name+"/messages", `{"name":"one","data":"x"}`, accept)
			res, _ := body.(map[string]any)
			if code != 201 || res["channel"] != name || res["messageId"] == "" || hdr.Get("Content-Type") != accept {
				t.Fatalf("object publish → %d %v %v", code, body, hdr)
			}
			code, _, _ = httpDo(t, s, "POST", "/channels/"+name+"/messages", `[{"name":"two"},{"name":"three"}]`, accept)
			if code != 201 {
				t.Fatalf("array publish → %d", code)
			}
			for _, ep := range []string{"messages", "history"} {
				code, hdr, body = httpDo(t, s, "GET", "/channels/"+name+"/"+ep+"?limit=2", "", accept)
				links := hdr.Values("Link")
				if code != 200 || len(body.([]any)) != 2 || len(links) != 3 || !strings.HasPrefix(links[2], "<./"+ep+"?") || !strings.HasSuffix(links[2], `rel="next"`) {
					t.Fatalf("GET %s → %d %v links %q", ep, code, body, links)
				}
				next := strings.TrimSuffix(strings.TrimPrefix(links[2], "<./"+ep), `>; rel="next"`)
				code, hdr, body = httpDo(t, s, "GET", "/channels/"+name+"/"+ep+next, "", accept)
				if code != 200 || len(body.([]any)) != 1 || len(hdr.Values("Link")) != 2 {
					t.Fatalf("next page → %d %v %q", code, body, hdr.Values("Link"))
				}
			}
			code, hdr, body = httpDo(t, s, "GET", "/nope", "", accept)
			e, _ := body.(map[string]any)["error"].(map[string]any)
			if code != 404 || num(e["code"]) != 40400 || hdr.Get("X-Ably-Errorcode") != "40400" || hdr.Get("Content-Type") != accept {
				t.Fatalf("unknown path → %d %v %v", code, body, hdr)
			}
			code, _, _ = httpDo(t, s, "GET", "/channels/"+name+"/messages?start=10&end=5", "", accept)
			if code != 400 {
				t.Fatalf("start > end → %d", code)
			}
		})
	}
}

// TestRESTUntilAttach: history bounded by the attach serial (§11).
func TestRESTUntilAttach(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		c, _ := newRealtime(t, clientOpts(s, binary)...)
		name := uniq(t, "until")
		ch := c.Channels.Get(name)
		for i := 0; i < 3; i++ {
			if err := ch.Publish(ctxT(t), fmt.Sprint("before", i), "x"); err != nil {
				t.Fatal(err)
			}
		}
		if err := ch.Attach(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if err := ch.Publish(ctxT(t), "after", "x"); err != nil {
			t.Fatal(err)
		}
		req, err := ch.HistoryUntilAttach()
		if err != nil {
			t.Fatal(err)
		}
		items := historyItems(t, *req)
		if len(items) != 3 || items[0].Name != "before2" {
			t.Fatalf("untilAttach history: %d items", len(items))
		}
	})
}

// TestRESTBatchStatusEnumerate covers POST /messages, GET /channels/{name}
// and GET /channels (§11).
func TestRESTBatchStatusEnumerate(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		a, b := uniq(t, "batch-a"), uniq(t, "batch-b")
		body := fmt.Sprintf(`[{"channels":[%q,%q],"messages":[{"name":"x","data":"1"}]},{"channels":%q,"messages":{"name":"y"}},{"channels":[":bad"],"messages":[{"name":"z"}]}]`, a, b, a)
		accept := map[bool]string{true: "application/x-msgpack", false: "application/json"}[binary]
		code, _, res := httpDo(t, s, "POST", "/messages", body, accept)
		results, _ := res.([]any)
		if code != 201 || len(results) != 3 {
			t.Fatalf("batch → %d %v", code, res)
		}
		r0, r2 := results[0].(map[string]any), results[2].(map[string]any)
		if num(r0["successCount"]) != 2 || num(r2["failureCount"]) != 1 {
			t.Fatalf("batch results %v", results)
		}
		if n := len(s.lookupChannel(a).history); n != 2 {
			t.Fatalf("channel a has %d messages", n)
		}
		c, _ := newRealtime(t, clientOpts(s, binary)...)
		if err := c.Channels.Get(a, ably.ChannelWithModes(ably.ChannelModeSubscribe)).Attach(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		rest := newREST(t, clientOpts(s, binary)...)
		st, err := rest.Channels.Get(a).Status(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		m := st.Status.Occupancy.Metrics
		if st.ChannelId != a || !st.Status.IsActive || m.Connections != 1 || m.Subscribers != 1 || m.Publishers != 0 {
			t.Fatalf("status = %+v", st)
		}
		code, hdr, ids := httpDo(t, s, "GET", "/channels?by=id&limit=1&prefix=batch-", "", accept)
		if code != 200 || len(ids.([]any)) != 1 || len(hdr.Values("Link")) != 3 {
			t.Fatalf("enumerate → %d %v %q", code, ids, hdr.Values("Link"))
		}
		code, _, vals := httpDo(t, s, "GET", "/channels?prefix="+a, "", accept)
		if code != 200 || len(vals.([]any)) != 1 || vals.([]any)[0].(map[string]any)["channelId"] != a {
			t.Fatalf("enumerate by value → %d %v", code, vals)
		}
	})
}

// TestRESTCORSAndEnvelope: preflight and the browser envelope (SHOULD).
func TestRESTCORSAndEnvelope(t *testing.T) {
	s := startServer(t, Options{})
	req, _ := http.NewRequest("OPTIONS", "http://"+s.Addr()+"/channels/x/messages", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "authorization") {
		t.Fatalf("preflight → %d %v", resp.StatusCode, resp.Header)
	}
	for i := 0; i < 3; i++ {
		httpDo(t, s, "POST", "/channels/env/messages", `{"name":"e"}`, "")
	}
	code, _, body := httpDo(t, s, "GET", "/channels/env/messages?limit=2&envelope=json", "", "")
	env, _ := body.(map[string]any)
	hdrs, _ := env["headers"].(map[string]any)
	if code != 200 || num(env["statusCode"]) != 200 || len(env["response"].([]any)) != 2 || !strings.Contains(fmt.Sprint(hdrs["link"]), `rel="next"`) {
		t.Fatalf("envelope → %d %v", code, body)
	}
}

// TestBatchPublishLegacyVersion (issue 14, item 9): ably-go v1.3.0 sends
// X-Ably-Version: 2, whose batch publish answers one spec with the
// per-channel array ({channel, messageId}), not version 3's BatchResult;
// a partial failure is 400 40020 with the results in batchResponse.
func TestBatchPublishLegacyVersion(t *testing.T) {
	s := startServer(t, Options{})
	formats(t, func(t *testing.T, binary bool) {
		rest := newREST(t, clientOpts(s, binary)...)
		a, b := uniq(t, "legacy-a"), uniq(t, "legacy-b")
		spec := map[string]any{"channels": []string{a, b}, "messages": []map[string]any{{"name": "x", "data": "1"}}}
		res, err := rest.Request("POST", "/messages", ably.RequestWithBody(spec)).Pages(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		var items []map[string]any
		if !res.Next(ctxT(t)) {
			t.Fatalf("no page: %v", res.Err())
		}
		if err := res.Items(&items); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 201 || len(items) != 2 || items[0]["channel"] != a || items[1]["channel"] != b || items[0]["messageId"] == nil || items[0]["successCount"] != nil {
			t.Fatalf("version 2 batch → %d %v, want [{channel, messageId} ×2]", res.StatusCode(), items)
		}
		spec["channels"] = []string{a, ":bad"}
		res, err = rest.Request("POST", "/messages", ably.RequestWithBody(spec)).Pages(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 400 || res.ErrorCode() != 40020 {
			t.Fatalf("partial failure → %d %d, want 400 40020", res.StatusCode(), res.ErrorCode())
		}
		code, _, body := httpDoHeader(t, s, "POST", "/messages", `[{"channels":"`+a+`","messages":{"name":"y"}}]`, "2")
		if arr, _ := body.([]any); code != 201 || len(arr) != 1 || len(arr[0].([]any)) != 1 {
			t.Fatalf("version 2, array of specs → %d %v, want [[{channel, messageId}]]", code, body)
		}
		code, _, body = httpDoHeader(t, s, "POST", "/messages", `{"channels":["`+a+`",":bad"],"messages":{"name":"y"}}`, "2")
		var legacy ablybatch.LegacyErrorBody
		legacy.BatchResponse = &[]ablybatch.ChannelResult{}
		recode(t, body, &legacy)
		per := *legacy.BatchResponse.(*[]ablybatch.ChannelResult)
		if code != 400 || legacy.Error.Code != ablybatch.CodeBatchError || len(per) != 2 || per[0].MessageID == "" || per[1].Error == nil || per[1].Error.Code != 40010 {
			t.Fatalf("version 2 partial failure → %d %v, want 400 40020 with batchResponse [{channel, messageId}, {channel, error 40010}]", code, body)
		}
		// Version 3 (and no header): 201 with failures inside the Result.
		for _, v := range []string{ablybatch.Version, ""} {
			code, _, body = httpDoHeader(t, s, "POST", "/messages", `[{"channels":["`+a+`",":bad"],"messages":{"name":"y"}}]`, v)
			var res []ablybatch.Result
			recode(t, body, &res)
			if code != 201 || len(res) != 1 || res[0].SuccessCount != 1 || res[0].FailureCount != 1 || len(res[0].Results[0].Serials) != 1 || res[0].Results[1].Error.Code != 40010 {
				t.Fatalf("version %q partial failure → %d %v, want 201 with one Result", v, code, body)
			}
		}
	})
}

// recode converts a decoded JSON body into the typed value out.
func recode(t testing.TB, body any, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// httpDoHeader is httpDo (JSON) with an X-Ably-Version header (none when
// version is empty).
func httpDoHeader(t testing.TB, s *Server, method, path, body, version string) (int, http.Header, any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), method, "http://"+s.Addr()+path, strings.NewReader(body))
	req.SetBasicAuth(s.Keys()[0].Name, s.Keys()[0].Secret)
	req.Header.Set("Content-Type", "application/json")
	if version != "" {
		req.Header.Set("X-Ably-Version", version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, v
}

// TestCometAnsweredWithClearError: the comet transport's requests (connect,
// send, recv) get a 400 whose message says only WebSocket is served, not
// a 404.
func TestCometAnsweredWithClearError(t *testing.T) {
	s := startServer(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/comet/connect?format=json&v=6&key=" + url.QueryEscape(s.Keys()[0].String())},
		{"POST", "/comet/abc!def/send"},
		{"GET", "/comet/abc!def/recv"},
	} {
		code, hdr, body := httpDo(t, s, c.method, c.path, "", "application/json")
		e, _ := body.(map[string]any)["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != 400 || num(e["code"]) != 40000 || !strings.Contains(msg, "WebSocket only") || hdr.Get("X-Ably-Errorcode") != "40000" {
			t.Fatalf("%s %s → %d %v", c.method, c.path, code, body)
		}
	}
}
