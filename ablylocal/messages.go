package ablylocal

import (
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/ablyrules"
)

// validateChannelName applies Ably's channel name rules (§8.1), shared with
// `insert` through ablyrules: 40010.
func validateChannelName(name string) *errorInfo {
	if err := ablyrules.Channel(name); err != nil {
		return newErr(ablyrules.CodeInvalidChannelName, 400, "invalid "+err.Error()+"; "+ablyrules.ChannelRules)
	}
	return nil
}

// prepareMessages validates client messages and converts them to the stored
// form: clientId rules (40012), id rules (40031), data (§4.3), extras and
// size (40009). idBase fills missing ids as "<idBase>:<index>".
func (s *Server) prepareMessages(in []inMessage, clientID string, isToken bool, connID, idBase string) ([]*message, *errorInfo) {
	if err := validateIDs(in); err != nil {
		return nil, err
	}
	out := make([]*message, len(in))
	total := 0
	for i := range in {
		m := &in[i]
		cid := m.ClientID
		switch {
		case cid == "*":
			return nil, newErr(40012, 400, "message clientId \"*\" is not allowed: a wildcard is not an identity")
		case cid == "" && clientID != "*":
			cid = clientID
		case cid != "" && clientID == "*":
		case cid != "" && clientID == "" && !isToken:
			// key (Basic) holders may publish on behalf of any clientId
		case cid != clientID:
			have := "no clientId"
			if clientID != "" {
				have = "clientId " + strconv.Quote(clientID)
			}
			return nil, newErr(40012, 400, "message clientId "+strconv.Quote(cid)+" does not match the connection's "+have)
		}
		data, enc, derr := canonicalData(m.Data, m.Encoding)
		if derr != nil {
			return nil, derr
		}
		var extras map[string]any
		switch x := m.Extras.v.(type) {
		case nil:
		case map[string]any:
			if depth(x) > maxExtrasDepth {
				return nil, newErr(40013, 400, "message extras nest deeper than "+strconv.Itoa(maxExtrasDepth)+" levels")
			}
			if err := ablyrules.HeaderValues(x["headers"]); err != nil {
				return nil, newErr(ablyrules.CodeInvalidExtras, 400, "invalid message extras: "+err.Error())
			}
			extras = x
		default:
			return nil, newErr(40013, 400, "message extras must be an object, not "+typeName(x))
		}
		id := m.ID
		if id == "" {
			id = idBase + ":" + strconv.Itoa(i)
		}
		msg := &message{ID: id, Name: m.Name, ClientID: cid, ConnectionID: connID, Data: data, Encoding: enc, Extras: extras, idGiven: m.ID != ""}
		total = addBound(total, messageSizeBound(msg))
		out[i] = msg
	}
	if total > maxMessageSize { // the bound may overcount: the exact size decides
		total = 0
		for _, msg := range out {
			total += messageSize(msg)
		}
	}
	if total > maxMessageSize {
		return nil, newErr(40009, 400, "message size "+strconv.Itoa(total)+" bytes exceeds the maximum message size of "+strconv.Itoa(maxMessageSize)+" bytes (name + clientId + extras + data, summed over the publish)")
	}
	return out, nil
}

// validateIDs checks client-supplied ids of a multi-message publish: each
// must be "<base>:<index>" with one base and its position as index (40031).
func validateIDs(in []inMessage) *errorInfo {
	if len(in) < 2 {
		return nil
	}
	any := false
	for i := range in {
		if in[i].ID != "" {
			any = true
		}
	}
	if !any {
		return nil
	}
	base := ""
	for i := range in {
		id := in[i].ID
		j := strings.LastIndexByte(id, ':')
		if j <= 0 || id[j+1:] != strconv.Itoa(i) || (i > 0 && id[:j] != base) {
			return newErr(40031, 400, "invalid message id "+strconv.Quote(id)+" at index "+strconv.Itoa(i)+": in a multi-message publish with ids, every id must be \"<base>:<index>\" with one base and the message's position as index")
		}
		base = id[:j]
	}
	return nil
}

// typeName names a decoded value's type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case []byte:
		return "binary"
	default:
		return "a number"
	}
}
