package ablylocal

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// LocalPrefix is the reserved path prefix of the endpoint's local-only
// routes: real Ably has nothing under it and no app ever needs it.
const LocalPrefix = "/_livesync/"

// FaultsPath is the control route of fault rules: GET lists them, POST adds
// one (a fault.Rule as JSON), DELETE clears them all, DELETE
// FaultsPath/{id} one of them. Only Basic auth with one of the endpoint's
// API keys is accepted.
const FaultsPath = LocalPrefix + "faults"

// Cleared is the answer to DELETE on the faults route.
type Cleared struct {
	// Cleared is how many rules were removed.
	Cleared int `json:"cleared"`
}

// serveLocal answers the fault rules' local-only routes (the row journey's
// localdebug.MessagesPath is served with REST).
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request) {
	q := &restReq{s: s, w: w, r: r, out: formatJSON}
	if !q.authenticateKey() {
		return
	}
	id, sub := strings.CutPrefix(r.URL.Path, FaultsPath+"/")
	switch {
	case r.URL.Path == FaultsPath && r.Method == http.MethodGet:
		q.reply(http.StatusOK, fault.List{Faults: s.Faults()}, "")
	case r.URL.Path == FaultsPath && r.Method == http.MethodPost:
		body, ok := q.readBodyLimit(64 << 10)
		if !ok {
			return
		}
		var rule fault.Rule
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rule); err != nil && !errors.Is(err, io.EOF) {
			q.fail(newErr(40000, 400, "cannot read the fault rule: "+err.Error()+` (send e.g. {"channel":"demo:*","code":40160})`))
			return
		}
		a, err := s.addFault(rule)
		if err != nil {
			q.fail(newErr(40000, 400, "bad fault rule: "+err.Error()))
			return
		}
		q.reply(http.StatusCreated, a, "")
	case r.URL.Path == FaultsPath && r.Method == http.MethodDelete:
		q.reply(http.StatusOK, Cleared{Cleared: s.ClearFaults("")}, "")
	case sub && id != "" && r.Method == http.MethodDelete:
		n := s.ClearFaults(id)
		if n == 0 {
			q.fail(newErr(40400, 404, "no fault rule "+id+" (list them with `livesync-dev fault list`)"))
			return
		}
		q.reply(http.StatusOK, Cleared{Cleared: n}, "")
	default:
		q.fail(newErr(40400, 404, "no such fault route: "+r.Method+" "+r.URL.Path+" (the fault routes are GET, POST and DELETE "+FaultsPath+", DELETE "+FaultsPath+"/{id})"))
	}
}

// authenticateKey accepts only Basic auth with one of the endpoint's API
// keys: the sandbox key, never a token an app was given.
func (q *restReq) authenticateKey() bool {
	hdr := q.r.Header.Get("Authorization")
	if !strings.HasPrefix(hdr, "Basic ") {
		q.fail(newErr(40101, 401, "the local-only routes need the sandbox key: send Authorization: Basic base64(KEYNAME:SECRET) (tokens are refused)"))
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(hdr[6:]))
	if err != nil {
		q.fail(newErr(40101, 401, "malformed Basic authorization header: not base64 of KEYNAME:SECRET"))
		return false
	}
	if _, aerr := q.s.auth.AuthenticateBasic(string(raw)); aerr != nil {
		q.fail(fromAuthErr(aerr))
		return false
	}
	return true
}

// refuseRealtime answers a realtime connect while a refuse-connections rule
// is in force: HTTP 503 before the WebSocket upgrade, as an unavailable
// service would, so SDKs stay DISCONNECTED and retry.
func (s *Server) refuseRealtime(w http.ResponseWriter, r *http.Request) bool {
	e := s.faults.connectError()
	if e == nil {
		return false
	}
	q := &restReq{s: s, w: w, r: r, out: formatJSON}
	q.fail(e)
	return true
}
