package connector

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// The REST batch mode is tested against the real local endpoint (ablylocal),
// which answers POST /messages by X-Ably-Version as Ably does.

// startEndpoint starts a local endpoint with one key of capability cap
// ({"*":["*"]} when empty) and opts, stopped when the test ends.
func startEndpoint(t *testing.T, capability string, opts ablylocal.Options) (*ablylocal.Server, auth.Key) {
	t.Helper()
	k := auth.GenerateKey()
	if capability != "" {
		c, err := auth.ParseCapability(capability)
		if err != nil {
			t.Fatal(err)
		}
		k.Capability = c
	}
	opts.Keys = []auth.Key{k}
	s, err := ablylocal.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, k
}

// newTestBatcher is a batcher with ablylog's redacting logger writing to
// logs (as NewPublisher builds it) and the given client options.
func newTestBatcher(t *testing.T, logs *bytes.Buffer, opts ...ably.ClientOption) *restBatcher {
	t.Helper()
	var lg *slog.Logger
	if logs != nil {
		lg = slog.New(slog.NewTextHandler(logs, nil))
	}
	b, err := newRESTBatcher(append(ablylog.ClientOptions(lg), opts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.close)
	return b
}

type publishCase struct {
	channel string
	msg     *ably.Message
}

// publishAll hands every publish to b at once and returns each one's
// acknowledgement, in the order given.
func publishAll(t *testing.T, b *restBatcher, cases []publishCase) []error {
	t.Helper()
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	wg.Add(len(cases))
	for i, c := range cases {
		b.publish(c.channel, c.msg, func(err error) { errs[i] = err; wg.Done() })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("publishes not acknowledged")
	}
	return errs
}

func row(id int, data string) *ably.Message {
	return &ably.Message{ID: strconv.Itoa(id), Name: "n", Data: data, Encoding: "json",
		Extras: map[string]any{"headers": map[string]any{"k": "v"}}}
}

// TestRESTBatchPerRowErrorCodes: each row of one batch request gets its own
// channel's outcome and Ably error code — 40010 (invalid channel name),
// 40009 (too large), 40160 (capability), 42913 (channel rate limit) — while
// the rows beside them succeed and arrive with their ids, data and headers.
// Before the connector read version 3 answers itself, a version 2 partial
// failure (400 40020) gave every row the same error and lost these codes.
func TestRESTBatchPerRowErrorCodes(t *testing.T) {
	frozen := time.Now()
	s, k := startEndpoint(t, `{"ok":["publish","history"],"big":["publish"],"limited":["publish"],":bad":["publish"]}`,
		ablylocal.Options{Limits: "ably", Now: func() time.Time { return frozen }})
	b := newTestBatcher(t, nil, ablylocal.ClientOptions(s.Addr(), k.String())...)
	cases := []publishCase{
		{"ok", row(1, `{"a":1}`)},
		{":bad", row(2, `{}`)},
		{"big", row(3, `"`+strings.Repeat("x", 70*1024)+`"`)},
		{"denied", row(4, `{}`)},
	}
	for i := 0; i < 51; i++ { // Ably's 50 msg/s per channel; the clock is frozen
		cases = append(cases, publishCase{"limited", row(100+i, `{}`)})
	}
	errs := publishAll(t, b, cases)
	for i, want := range []int{0, 40010, 40009, 40160} {
		if got := ErrorCode(errs[i]); got != want || (want == 0) != (errs[i] == nil) {
			t.Errorf("row on %q: error %v (code %d), want code %d", cases[i].channel, errs[i], got, want)
		}
	}
	limited := map[int]int{}
	for _, err := range errs[4:] {
		limited[ErrorCode(err)]++
	}
	if limited[0] != 50 || limited[42913] != 1 || len(limited) != 2 {
		t.Errorf("51 rows on a 50 msg/s channel: codes %v, want 50 successes and one 42913", limited)
	}
	if !b.up.Load() {
		t.Error("endpoint answered but the batcher reports it down")
	}
	rest, err := ably.NewREST(append(ablylocal.ClientOptions(s.Addr(), k.String()), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	page, err := rest.Channels.Get("ok").History().Pages(context.Background())
	if err != nil || !page.Next(context.Background()) {
		t.Fatalf("history of ok: %v", err)
	}
	got := page.Items()
	h, _ := got[0].Extras["headers"].(map[string]any)
	if len(got) != 1 || got[0].ID != "1" || got[0].Name != "n" || got[0].Data != `{"a":1}` || got[0].Encoding != "json" || h["k"] != "v" {
		t.Errorf("published message %+v, want id 1, name n, json data {\"a\":1}, header k=v", got[0])
	}
}

// TestRESTBatchWholeRequestErrors: a refused key fails every row with the
// endpoint's code (the endpoint is up, and the secret never reaches the
// log); an endpoint that is gone fails every row with no code and marks the
// batcher down.
func TestRESTBatchWholeRequestErrors(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{})
	var logs bytes.Buffer
	wrong := k.Name + ":" + "not-the-secret-at-all"
	b := newTestBatcher(t, &logs, ablylocal.ClientOptions(s.Addr(), wrong)...)
	errs := publishAll(t, b, []publishCase{{"a", row(1, `{}`)}, {"b", row(2, `{}`)}})
	for i, err := range errs {
		if c := ErrorCode(err); c < 40100 || c > 40199 {
			t.Errorf("row %d with a wrong secret: %v (code %d), want a 401xx code", i, err, c)
		}
	}
	if !b.up.Load() {
		t.Error("endpoint answered 401 but the batcher reports it down")
	}
	if strings.Contains(logs.String(), "not-the-secret-at-all") {
		t.Errorf("the key's secret reached the log: %s", logs.String())
	}

	ok := newTestBatcher(t, nil, ablylocal.ClientOptions(s.Addr(), k.String())...)
	_ = s.Close()
	errs = publishAll(t, ok, []publishCase{{"a", row(3, `{}`)}})
	if errs[0] == nil || ErrorCode(errs[0]) != 0 {
		t.Errorf("endpoint gone: %v, want a network error without an Ably code", errs[0])
	}
	if ok.up.Load() {
		t.Error("endpoint gone but the batcher reports it up")
	}
}

// TestRESTBatchTokenAuth: the batcher uses whatever auth its ClientOptions
// give; with an authCallback, ably-go obtains a token (that request passes
// the batch transport untouched) and the batch goes out with it.
func TestRESTBatchTokenAuth(t *testing.T) {
	s, k := startEndpoint(t, "", ablylocal.Options{})
	issuer, err := ably.NewREST(append(ablylocal.ClientOptions(s.Addr(), k.String()), ably.WithLogLevel(ably.LogNone))...)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	cb := func(ctx context.Context, p ably.TokenParams) (ably.Tokener, error) {
		calls++
		return issuer.Auth.RequestToken(ctx, &p)
	}
	b := newTestBatcher(t, nil, append(ablylocal.ClientOptions(s.Addr(), ""), ably.WithAuthCallback(cb))...)
	errs := publishAll(t, b, []publishCase{{"tok", row(1, `{}`)}, {":bad", row(2, `{}`)}})
	if errs[0] != nil || ErrorCode(errs[1]) != 40010 || calls == 0 {
		t.Errorf("token-authorised batch: %v, %v (callback called %d times)", errs[0], errs[1], calls)
	}
}
