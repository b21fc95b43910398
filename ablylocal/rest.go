package ablylocal

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// restReq is one REST request with its negotiated format and identity.
type restReq struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	out      format // response format (Accept)
	envelope bool
	ident    auth.Identity
	clientID string
	isToken  bool
}

// serveREST dispatches REST requests.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	cors(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := &restReq{s: s, w: w, r: r, out: acceptFormat(r)}
	if env := r.URL.Query().Get("envelope"); env != "" {
		q.envelope = true
		if env == "json" {
			q.out = formatJSON
		} else if env == "msgpack" {
			q.out = formatMsgpack
		}
	}
	segs := pathSegments(r.URL.EscapedPath())
	if segs == nil {
		q.fail(newErr(40400, 404, "malformed request path "+strconv.Quote(r.URL.Path)))
		return
	}
	route := func(method string, n int, head ...string) bool {
		if r.Method != method || len(segs) != n {
			return false
		}
		for i, h := range head {
			if h != "*" && segs[i] != h {
				return false
			}
		}
		return true
	}
	if len(segs) > 0 && segs[0] == "comet" {
		q.fail(errCometUnsupported(s.Addr()))
		return
	}
	switch {
	case route("GET", 1, "time"):
		q.reply(http.StatusOK, []int64{s.nowMs()}, "")
		return
	case route("POST", 3, "keys", "*", "requestToken"):
		q.requestToken(segs[1])
		return
	}
	if !q.authenticate() {
		return
	}
	if len(segs) > 0 && segs[0] == "_livesync" {
		q.debugMessages(segs)
		return
	}
	switch {
	case route("GET", 1, "stats"):
		if !q.ident.Capability.AllowsAnyChannel("stats") {
			q.fail(newErr(40160, 401, "stats denied: the capability lacks \"stats\" on \"*\""))
			return
		}
		q.reply(http.StatusOK, []any{}, "")
	case route("POST", 1, "messages"):
		q.batchPublish()
	case route("GET", 1, "channels"):
		q.listChannels()
	case route("GET", 2, "channels"):
		q.channelStatus(segs[1])
	case route("POST", 3, "channels", "*", "messages"):
		q.publish(segs[1])
	case route("GET", 3, "channels", "*", "messages"), route("GET", 3, "channels", "*", "history"):
		q.history(segs[1], segs[2])
	case route("GET", 3, "channels", "*", "presence"), route("GET", 4, "channels", "*", "presence", "history"):
		op := "subscribe"
		if len(segs) == 4 {
			op = "history"
		}
		if !q.ident.Capability.Allows(segs[1], op) {
			q.fail(newErr(40160, 401, "presence of channel "+strconv.Quote(segs[1])+" denied: the capability lacks \""+op+"\""))
			return
		}
		if len(segs) == 3 {
			q.presenceMembers(segs[1])
			return
		}
		q.reply(http.StatusOK, []any{}, "")
	default:
		q.fail(newErr(40400, 404, "no such endpoint: "+r.Method+" "+r.URL.Path+" (the local endpoint serves /time, /channels, /channels/{name}, /channels/{name}/messages, /channels/{name}/history, /messages, /keys/{keyName}/requestToken)"))
	}
}

// errCometUnsupported answers ably-js's comet (HTTP long-poll) transport,
// which it falls back to when WebSocket is blocked. Only WebSocket is
// served: comet would need a second transport implementation (long-poll
// receive, send and close requests per connection), so the client gets a
// clear error (its connection goes FAILED with this message) instead of a
// 404 it would retry forever.
func errCometUnsupported(addr string) *errorInfo {
	return newErr(40000, 400, "the livesync-dev local Ably endpoint serves the realtime protocol over WebSocket only; "+
		"the comet (HTTP long-poll) fallback transport is not supported. Allow WebSocket connections to "+addr+
		" (a proxy, firewall or browser extension may block them) or set the client option transports: ['web_socket']")
}

// pathSegments splits an escaped path and unescapes each segment, so "%2F"
// stays inside a channel name. nil means a bad escape.
func pathSegments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return []string{}
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil
		}
		parts[i] = u
	}
	return parts
}

// cors adds the headers browsers need for cross-origin ably-js.
func cors(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = "*"
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "authorization, content-type, accept, x-ably-version, ably-agent, x-ably-clientid, x-ably-lib")
	h.Set("Access-Control-Expose-Headers", "link, x-ably-errorcode, x-ably-errormessage, x-ably-serverid")
	h.Set("Access-Control-Max-Age", "86400")
	if origin != "*" {
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
}

// acceptFormat picks the response format from Accept (msgpack or JSON).
func acceptFormat(r *http.Request) format {
	if strings.Contains(r.Header.Get("Accept"), "msgpack") {
		return formatMsgpack
	}
	return formatJSON
}

// bodyFormat is the request body's format from Content-Type.
func bodyFormat(r *http.Request) format {
	if strings.Contains(r.Header.Get("Content-Type"), "msgpack") {
		return formatMsgpack
	}
	return formatJSON
}

// readBody reads the request body, bounded by maxFrameSize (40009).
func (q *restReq) readBody() ([]byte, bool) { return q.readBodyLimit(maxFrameSize) }

// readBodyLimit reads the request body, bounded by limit bytes (40009).
func (q *restReq) readBodyLimit(limit int) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(q.r.Body, int64(limit)+1))
	if err != nil {
		q.fail(newErr(40000, 400, "cannot read request body: "+err.Error()))
		return nil, false
	}
	if len(b) > limit {
		q.fail(newErr(40009, 400, "request body exceeds the limit of "+strconv.Itoa(limit)+" bytes"))
		return nil, false
	}
	return b, true
}

// authenticate resolves the request identity from Authorization or the
// key / access_token query params; it answers 401 itself on failure.
func (q *restReq) authenticate() bool {
	var err *auth.Error
	hdr := q.r.Header.Get("Authorization")
	qs := q.r.URL.Query()
	switch {
	case strings.HasPrefix(hdr, "Basic "):
		raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(hdr[6:]))
		if derr != nil {
			q.fail(newErr(40101, 401, "malformed Basic authorization header: not base64 of KEYNAME:SECRET"))
			return false
		}
		q.ident, err = q.s.auth.AuthenticateBasic(string(raw))
	case strings.HasPrefix(hdr, "Bearer "):
		q.ident, err = q.s.auth.AuthenticateToken(strings.TrimSpace(hdr[7:]))
		q.isToken = true
	case qs.Get("key") != "":
		q.ident, err = q.s.auth.AuthenticateBasic(qs.Get("key"))
	case qs.Get("access_token") != "":
		q.ident, err = q.s.auth.AuthenticateToken(qs.Get("access_token"))
		q.isToken = true
	default:
		q.fail(newErr(40101, 401, "no credentials: send Authorization: Basic base64(KEYNAME:SECRET) or Bearer TOKEN"))
		return false
	}
	if err != nil {
		q.fail(fromAuthErr(err))
		return false
	}
	q.clientID = q.ident.ClientID
	if h := q.r.Header.Get("X-Ably-ClientId"); h != "" {
		dec, derr := base64.StdEncoding.DecodeString(h)
		if derr != nil {
			q.fail(newErr(40012, 400, "X-Ably-ClientId header is not base64"))
			return false
		}
		cid, cerr := tokenClientID(q.clientID, string(dec))
		if !q.isToken {
			cid, cerr = string(dec), nil
		}
		if cerr != nil {
			q.fail(cerr)
			return false
		}
		q.clientID = cid
	}
	return true
}

// envelopeBody is the browser envelope (envelope=json).
type envelopeBody struct {
	StatusCode int               `json:"statusCode" msgpack:"statusCode"`
	Response   any               `json:"response" msgpack:"response"`
	Headers    map[string]string `json:"headers" msgpack:"headers"`
}

// reply writes a success body in the Accept format, with Link lines.
func (q *restReq) reply(status int, body any, links string) {
	if q.envelope {
		hdrs := map[string]string{}
		if links != "" {
			hdrs["link"] = strings.ReplaceAll(links, "\n", ", ")
		}
		body = envelopeBody{StatusCode: status, Response: body, Headers: hdrs}
		status = http.StatusOK
	}
	b, err := marshal(q.out, body)
	if err != nil {
		q.fail(newErr(50000, 500, "cannot encode response: "+err.Error()))
		return
	}
	h := q.w.Header()
	for _, l := range strings.Split(links, "\n") {
		if l != "" && !q.envelope {
			h.Add("Link", l)
		}
	}
	h.Set("Content-Type", q.out.contentType())
	q.w.WriteHeader(status)
	_, _ = q.w.Write(b)
}

// fail writes an Ably error body plus the X-Ably-* headers.
func (q *restReq) fail(e *errorInfo) {
	if e.StatusCode == 0 {
		e.StatusCode = statusForCode(e.Code)
	}
	status := e.StatusCode
	body := any(map[string]*errorInfo{"error": e})
	if q.envelope {
		body = envelopeBody{StatusCode: status, Response: body, Headers: map[string]string{}}
		status = http.StatusOK
	}
	b, _ := marshal(q.out, body)
	h := q.w.Header()
	h.Set("Content-Type", q.out.contentType())
	h.Set("X-Ably-Errorcode", strconv.Itoa(e.Code))
	h.Set("X-Ably-Errormessage", sanitizeHeader(e.Message))
	q.w.WriteHeader(status)
	_, _ = q.w.Write(b)
}

// sanitizeHeader makes a message safe as a header value.
func sanitizeHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			return ' '
		}
		return r
	}, s)
}
