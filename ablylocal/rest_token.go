package ablylocal

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// tokenDetailsWire is TokenDetails on the wire; capability is a string.
type tokenDetailsWire struct {
	Token      string `json:"token" msgpack:"token"`
	KeyName    string `json:"keyName" msgpack:"keyName"`
	Issued     int64  `json:"issued" msgpack:"issued"`
	Expires    int64  `json:"expires" msgpack:"expires"`
	Capability string `json:"capability" msgpack:"capability"`
	ClientID   string `json:"clientId,omitempty" msgpack:"clientId,omitempty"`
}

// requestToken handles POST /keys/{keyName}/requestToken (§5.5).
func (q *restReq) requestToken(keyName string) {
	body, ok := q.readBody()
	if !ok {
		return
	}
	f := bodyFormat(q.r)
	var raw map[string]any
	if f == formatJSON {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			q.fail(newErr(40000, 400, "cannot decode the TokenRequest (JSON): "+err.Error()))
			return
		}
	} else if err := unmarshal(f, body, &raw); err != nil {
		q.fail(newErr(40000, 400, "cannot decode the TokenRequest (msgpack): "+err.Error()))
		return
	}
	var req auth.TokenRequest
	var err error
	fields := []struct {
		name string
		dst  *string
	}{{"keyName", &req.KeyName}, {"capability", &req.Capability}, {"clientId", &req.ClientID},
		{"nonce", &req.Nonce}, {"mac", &req.MAC}, {"ttl", &req.TTL}, {"timestamp", &req.Timestamp}}
	for _, fl := range fields {
		if *fl.dst, err = tokenField(raw[fl.name], fl.name == "capability"); err != nil {
			q.fail(newErr(40000, 400, "invalid TokenRequest field "+strconv.Quote(fl.name)+": "+err.Error()))
			return
		}
	}
	var basic *auth.Identity
	if hdr := q.r.Header.Get("Authorization"); strings.HasPrefix(hdr, "Basic ") {
		b, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(hdr[6:]))
		if derr != nil {
			q.fail(newErr(40101, 401, "malformed Basic authorization header"))
			return
		}
		id, aerr := q.s.auth.AuthenticateBasic(string(b))
		if aerr != nil {
			q.fail(fromAuthErr(aerr))
			return
		}
		basic = &id
	}
	td, terr := q.s.auth.RequestToken(keyName, req, basic)
	if terr != nil {
		q.fail(fromAuthErr(terr))
		return
	}
	q.reply(http.StatusOK, tokenDetailsWire{Token: td.Token, KeyName: td.KeyName, Issued: td.Issued,
		Expires: td.Expires, Capability: td.Capability, ClientID: td.ClientID}, "")
}

// tokenField renders a TokenRequest field as the raw text the MAC covers:
// strings as-is, integers in plain decimal; a capability object (not the
// usual string) is re-encoded as JSON.
func tokenField(v any, structured bool) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case json.Number:
		if _, err := t.Int64(); err != nil {
			return "", fmt.Errorf("%s is not an integer", t)
		}
		return t.String(), nil
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, int, uint:
		return fmt.Sprint(t), nil
	case float64:
		if t != float64(int64(t)) {
			return "", fmt.Errorf("%v is not an integer", t)
		}
		return strconv.FormatInt(int64(t), 10), nil
	case float32:
		return tokenField(float64(t), structured)
	case map[string]any:
		if structured {
			b, err := json.Marshal(t)
			return string(b), err
		}
	}
	return "", fmt.Errorf("unexpected %T", v)
}
