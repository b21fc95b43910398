// Package fault defines the fault rules the local Ably endpoint can inject:
// one type shared by the endpoint (which applies them), its local-only
// control route, `livesync-dev fault add|list|clear`, the dashboard header
// and `ably.local.faults` in livesync.yaml.
//
// A rule names a channel pattern (Ably capability syntax: "demo:*" matches
// "demo:x", "*" every channel) and exactly one fault:
//
//	code               refuse publishes on matching channels with this Ably error code
//	delayAck           hold each ACK of a matching publish this long (ACKs stay in order)
//	drop               drop the transport of connections using matching channels, without
//	                   DISCONNECTED (a network blip): once, or again every `every`
//	refuseConnections  refuse every new realtime connection (HTTP 503, error 80003)
//	rate               refuse publishes above this many messages/s per matching channel (42913)
//
// `for` makes a rule expire; without it a rule lasts until cleared.
package fault

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

// Duration is a time.Duration written as Go duration text ("500ms", "10s")
// in JSON and YAML.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration: write e.g. 500ms, 10s or 2m", string(b))
	}
	*d = Duration(v)
	return nil
}

// Rule is one injected fault.
type Rule struct {
	// ID is assigned by the endpoint when the rule is added.
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// Channel is the pattern the rule applies to; "" means "*".
	Channel string `json:"channel,omitempty" yaml:"channel,omitempty"`
	// Code refuses matching publishes with this Ably error code.
	Code int `json:"code,omitempty" yaml:"code,omitempty"`
	// DelayAck holds each ACK of a matching publish this long.
	DelayAck Duration `json:"delayAck,omitempty" yaml:"delayAck,omitempty"`
	// Drop drops the transport of connections using matching channels.
	Drop bool `json:"drop,omitempty" yaml:"drop,omitempty"`
	// Every repeats a drop at most this often; zero drops once.
	Every Duration `json:"every,omitempty" yaml:"every,omitempty"`
	// RefuseConnections refuses every new realtime connection.
	RefuseConnections bool `json:"refuseConnections,omitempty" yaml:"refuseConnections,omitempty"`
	// Rate is the most messages per second a matching channel accepts.
	Rate int `json:"rate,omitempty" yaml:"rate,omitempty"`
	// For is the rule's lifetime from when it was added; zero = until cleared.
	For Duration `json:"for,omitempty" yaml:"for,omitempty"`
}

// Marker ends the message of every error a rule causes, so the dashboard
// and `status` can tell an injected fault from a real one and advise
// `fault clear` rather than, say, a new API key.
const Marker = "injected with `livesync-dev fault`"

// Kinds of rule, as Kind reports them.
const (
	KindRefuse            = "refuse"
	KindDelayAck          = "delay-ack"
	KindDrop              = "drop"
	KindRefuseConnections = "refuse-connections"
	KindRate              = "rate"
)

// Kind names the rule's fault ("" when it sets none or several).
func (r Rule) Kind() string {
	var kinds []string
	if r.Code != 0 {
		kinds = append(kinds, KindRefuse)
	}
	if r.DelayAck != 0 {
		kinds = append(kinds, KindDelayAck)
	}
	if r.Drop {
		kinds = append(kinds, KindDrop)
	}
	if r.RefuseConnections {
		kinds = append(kinds, KindRefuseConnections)
	}
	if r.Rate != 0 {
		kinds = append(kinds, KindRate)
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// Pattern is the channel pattern, "*" when none is set.
func (r Rule) Pattern() string {
	if r.Channel == "" {
		return "*"
	}
	return r.Channel
}

// Validate says what is wrong with a rule, and how to fix it.
func (r Rule) Validate() error {
	n := 0
	for _, set := range []bool{r.Code != 0, r.DelayAck != 0, r.Drop, r.RefuseConnections, r.Rate != 0} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("the rule injects no fault: set one of code (e.g. 40160), delayAck (e.g. 500ms), drop, refuseConnections or rate")
	case n > 1:
		return errors.New("the rule sets several faults: give each fault its own rule (one of code, delayAck, drop, refuseConnections, rate)")
	case r.Code != 0 && (r.Code < 10000 || r.Code > 99999):
		return fmt.Errorf("code %d is not an Ably error code: use five digits, e.g. 40160 (capability), 42913 (rate limit) or 50000 (internal error)", r.Code)
	case r.DelayAck < 0 || r.Every < 0 || r.For < 0:
		return errors.New("durations must not be negative")
	case r.DelayAck > Duration(2*time.Minute):
		return fmt.Errorf("delayAck %s is too long: at most 2m (a connector's row lock lapses long before)", time.Duration(r.DelayAck))
	case r.Every != 0 && !r.Drop:
		return errors.New("every applies only to drop rules")
	case r.Every != 0 && r.Every < Duration(100*time.Millisecond):
		return fmt.Errorf("every %s is too short: at least 100ms", time.Duration(r.Every))
	case r.Rate < 0:
		return fmt.Errorf("rate %d must be positive (messages per second)", r.Rate)
	case r.RefuseConnections && r.For == 0:
		return errors.New("refuseConnections needs for (e.g. 10s): refusing every connection for ever would lock the sandbox out")
	}
	if p := r.Pattern(); strings.ContainsAny(p, "\n\r") || strings.HasPrefix(p, "[") && !strings.HasPrefix(p, "[*]") {
		return fmt.Errorf("channel pattern %q is not valid: write a channel name or a pattern such as 'demo:*'", p)
	}
	return nil
}

// Matches reports whether channel falls under the rule's pattern, with
// Ably's capability rules (auth.MatchChannel): segments split on ':', a
// '*' segment matches one segment, a trailing '*' one or more; "*" and
// "[*]*" match everything.
func (r Rule) Matches(channel string) bool { return auth.MatchChannel(r.Pattern(), channel) }

// String describes the rule in a few words, for the dashboard header and
// `fault list`: "demo:* refuse 40160".
func (r Rule) String() string {
	var what string
	switch r.Kind() {
	case KindRefuse:
		what = "refuse " + strconv.Itoa(r.Code)
	case KindDelayAck:
		what = "delay ACK " + time.Duration(r.DelayAck).String()
	case KindDrop:
		what = "drop once"
		if r.Every != 0 {
			what = "drop every " + time.Duration(r.Every).String()
		}
	case KindRefuseConnections:
		return "refuse connections"
	case KindRate:
		what = "rate " + strconv.Itoa(r.Rate) + "/s"
	default:
		what = "invalid"
	}
	return r.Pattern() + " " + what
}

// Active is a rule in force on the endpoint, as the control route lists it.
type Active struct {
	Rule
	// Added is when the rule was added.
	Added time.Time `json:"added"`
	// Expires is when a rule with For ends (nil: until cleared).
	Expires *time.Time `json:"expires,omitempty"`
	// Hits counts the publishes, ACKs, connections or drops it affected.
	Hits int64 `json:"hits"`
}

// List is the control route's answer to GET and POST.
type List struct {
	// Faults are the rules in force, oldest first.
	Faults []Active `json:"faults"`
}

// ParseRules reads a JSON array of rules (the LIVESYNC_ABLY_LOCAL_FAULTS
// form) and validates each.
func ParseRules(text string) ([]Rule, error) {
	var rules []Rule
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(text), &rules); err != nil {
		return nil, fmt.Errorf("not a JSON array of fault rules (e.g. [{\"channel\":\"demo:*\",\"code\":40160}]): %v", err)
	}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
	}
	return rules, nil
}
