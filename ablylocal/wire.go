package ablylocal

import (
	"encoding/json"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// Protocol actions (Ably ProtocolMessage.action).
const (
	actHeartbeat    = 0
	actAck          = 1
	actNack         = 2
	actConnect      = 3
	actConnected    = 4
	actDisconnect   = 5
	actDisconnected = 6
	actClose        = 7
	actClosed       = 8
	actError        = 9
	actAttach       = 10
	actAttached     = 11
	actDetach       = 12
	actDetached     = 13
	actPresence     = 14
	actMessage      = 15
	actSync         = 16
	actAuth         = 17
	actActivate     = 18
	actObject       = 19
	actObjectSync   = 20
	actAnnotation   = 21
)

// Protocol flags: attach state bits and channel mode bits.
const (
	flagHasPresence       int64 = 1 << 0
	flagHasBacklog        int64 = 1 << 1
	flagResumed           int64 = 1 << 2
	flagPresence          int64 = 1 << 16
	flagPublish           int64 = 1 << 17
	flagSubscribe         int64 = 1 << 18
	flagPresenceSubscribe int64 = 1 << 19
	modeMask              int64 = 0x3FF << 16
	defaultModes                = flagPresence | flagPublish | flagSubscribe | flagPresenceSubscribe
)

// errorInfo is the Ably ErrorInfo wire object.
type errorInfo struct {
	Code       int    `json:"code" msgpack:"code"`
	StatusCode int    `json:"statusCode" msgpack:"statusCode"`
	Message    string `json:"message" msgpack:"message"`
	Href       string `json:"href,omitempty" msgpack:"href,omitempty"`
}

// Error implements error so handlers can return an *errorInfo directly.
func (e *errorInfo) Error() string {
	return "ably error " + strconv.Itoa(e.Code) + " (HTTP " + strconv.Itoa(e.StatusCode) + "): " + e.Message
}

// newErr builds an errorInfo with the help link Ably uses.
func newErr(code, status int, msg string) *errorInfo {
	return &errorInfo{Code: code, StatusCode: status, Message: msg, Href: "https://help.ably.io/error/" + strconv.Itoa(code)}
}

// statusForCode maps an Ably error code to its HTTP status (400xx→400 ...).
func statusForCode(code int) int {
	switch {
	case code >= 10000 && code < 60000:
		return code / 100
	case code >= 80000 && code < 100000:
		return 400
	default:
		return 500
	}
}

// authDetails is the `auth` field of an AUTH frame.
type authDetails struct {
	AccessToken string `json:"accessToken" msgpack:"accessToken"`
}

// inFrame is an inbound ProtocolMessage as decoded from a client. Every
// optional field tolerates null.
type inFrame struct {
	Action        int          `json:"action" msgpack:"action"`
	ID            string       `json:"id" msgpack:"id"`
	Channel       *string      `json:"channel" msgpack:"channel"`
	ChannelSerial string       `json:"channelSerial" msgpack:"channelSerial"`
	MsgSerial     int64        `json:"msgSerial" msgpack:"msgSerial"`
	Flags         int64        `json:"flags" msgpack:"flags"`
	Messages      []inMessage  `json:"messages" msgpack:"messages"`
	Presence      []inPresence `json:"presence" msgpack:"presence"`
	Params        wireParams   `json:"params" msgpack:"params"`
	Auth          *authDetails `json:"auth" msgpack:"auth"`
}

// channelName returns the frame's channel, "" when absent.
func (f *inFrame) channelName() string {
	if f.Channel == nil {
		return ""
	}
	return *f.Channel
}

// inMessage is a Message as sent by a client (realtime or REST).
type inMessage struct {
	ID            string  `json:"id" msgpack:"id"`
	Name          string  `json:"name" msgpack:"name"`
	ClientID      string  `json:"clientId" msgpack:"clientId"`
	ConnectionID  string  `json:"connectionId" msgpack:"connectionId"`
	ConnectionKey string  `json:"connectionKey" msgpack:"connectionKey"`
	Data          rawData `json:"data" msgpack:"data"`
	Encoding      string  `json:"encoding" msgpack:"encoding"`
	Extras        rawAny  `json:"extras" msgpack:"extras"`
	Action        any     `json:"action" msgpack:"action"`
	Timestamp     any     `json:"timestamp" msgpack:"timestamp"`
}

// message is the canonical stored form of a published message (§4.3):
// Data is nil, a string or []byte; Encoding is what remains of the chain.
type message struct {
	ID           string
	Name         string
	ClientID     string
	ConnectionID string
	Data         any
	Encoding     string
	Extras       map[string]any
	Timestamp    int64
	Serial       string
	Action       int  // presence action (PresenceMessage only)
	idGiven      bool // the client chose the id: remember it for dedupe
	seq          uint64
}

// outMessage is the wire view of a message for one format.
type outMessage struct {
	ID           string         `json:"id,omitempty" msgpack:"id,omitempty"`
	Name         string         `json:"name,omitempty" msgpack:"name,omitempty"`
	ClientID     string         `json:"clientId,omitempty" msgpack:"clientId,omitempty"`
	ConnectionID string         `json:"connectionId,omitempty" msgpack:"connectionId,omitempty"`
	Data         *wireData      `json:"data,omitempty" msgpack:"data,omitempty"`
	Encoding     string         `json:"encoding,omitempty" msgpack:"encoding,omitempty"`
	Extras       map[string]any `json:"extras,omitempty" msgpack:"extras,omitempty"`
	Timestamp    int64          `json:"timestamp,omitempty" msgpack:"timestamp,omitempty"`
	Serial       string         `json:"serial,omitempty" msgpack:"serial,omitempty"`
	Action       int            `json:"action" msgpack:"action"`
}

// wireData is an outbound data value (string or []byte). A nil *wireData
// leaves `data` out; a non-nil one is sent even when empty, so an empty
// string payload stays an empty string.
type wireData struct{ v any }

// MarshalJSON implements json.Marshaler.
func (d *wireData) MarshalJSON() ([]byte, error) { return json.Marshal(d.v) }

// EncodeMsgpack implements msgpack.CustomEncoder (str stays str, bytes bin).
func (d *wireData) EncodeMsgpack(enc *msgpack.Encoder) error { return enc.Encode(d.v) }

// connDetails is CONNECTED.connectionDetails; every number is integer ms.
type connDetails struct {
	ClientID           *string `json:"clientId" msgpack:"clientId"`
	ConnectionKey      string  `json:"connectionKey" msgpack:"connectionKey"`
	MaxMessageSize     int64   `json:"maxMessageSize" msgpack:"maxMessageSize"`
	MaxFrameSize       int64   `json:"maxFrameSize" msgpack:"maxFrameSize"`
	MaxInboundRate     int64   `json:"maxInboundRate" msgpack:"maxInboundRate"`
	ConnectionStateTTL int64   `json:"connectionStateTtl" msgpack:"connectionStateTtl"`
	MaxIdleInterval    int64   `json:"maxIdleInterval" msgpack:"maxIdleInterval"`
	ServerID           string  `json:"serverId" msgpack:"serverId"`
}

// ackResult is one entry of ACK.res.
type ackResult struct {
	Serials []*string `json:"serials" msgpack:"serials"`
}

// outFrame is an outbound ProtocolMessage. Action and msgSerial are always
// serialised (ably-js needs both, even when zero).
type outFrame struct {
	Action            int               `json:"action" msgpack:"action"`
	ID                string            `json:"id,omitempty" msgpack:"id,omitempty"`
	Channel           *string           `json:"channel,omitempty" msgpack:"channel,omitempty"`
	ChannelSerial     string            `json:"channelSerial,omitempty" msgpack:"channelSerial,omitempty"`
	ConnectionID      string            `json:"connectionId,omitempty" msgpack:"connectionId,omitempty"`
	ConnectionKey     string            `json:"connectionKey,omitempty" msgpack:"connectionKey,omitempty"`
	ConnectionDetails *connDetails      `json:"connectionDetails,omitempty" msgpack:"connectionDetails,omitempty"`
	MsgSerial         *int64            `json:"msgSerial,omitempty" msgpack:"msgSerial,omitempty"`
	Count             int               `json:"count,omitempty" msgpack:"count,omitempty"`
	Flags             int64             `json:"flags,omitempty" msgpack:"flags,omitempty"`
	Timestamp         int64             `json:"timestamp,omitempty" msgpack:"timestamp,omitempty"`
	Error             *errorInfo        `json:"error,omitempty" msgpack:"error,omitempty"`
	Params            map[string]string `json:"params,omitempty" msgpack:"params,omitempty"`
	Messages          []outMessage      `json:"messages,omitempty" msgpack:"messages,omitempty"`
	Res               []ackResult       `json:"res,omitempty" msgpack:"res,omitempty"`
	Presence          []outMessage      `json:"presence,omitempty" msgpack:"presence,omitempty"`

	msgs []*message // stored messages, rendered per format by encodeFrame
	pres []*message // presence messages (Action set), rendered likewise
}

// inPresence is a PresenceMessage as sent by a client.
type inPresence struct {
	Action   int     `json:"action" msgpack:"action"`
	ID       string  `json:"id" msgpack:"id"`
	ClientID string  `json:"clientId" msgpack:"clientId"`
	Data     rawData `json:"data" msgpack:"data"`
	Encoding string  `json:"encoding" msgpack:"encoding"`
	Extras   rawAny  `json:"extras" msgpack:"extras"`
}

// strp returns a pointer to a copy of s (for fields that must be present even when empty).
func strp(s string) *string { return &s }
