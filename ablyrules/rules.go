// Package ablyrules holds Ably's documented rules for what a publish may
// carry — channel names and extras.headers — as one definition used by every
// side that must agree: `insert` and the dashboard's insert form (refuse at
// the door), the local endpoint (refuse what Ably refuses, with Ably's error
// codes) and the monitor (warn about pending rows that can never publish).
//
// Sources: Ably's channel naming rules (ably.com/docs/channels: not empty, no
// leading '[' or ':', no newline; no length limit) and error codes 40010
// (invalid channel name) and 40032 (invalid message extras field:
// "extras.headers if present must be a map<string,
// string|number|boolean|null>").
package ablyrules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Ably error codes for the rules in this package.
const (
	// CodeInvalidChannelName is Ably's 40010.
	CodeInvalidChannelName = 40010
	// CodeInvalidExtras is Ably's 40032 (invalid message extras field).
	CodeInvalidExtras = 40032
)

// Error is a broken rule: Ably's error code, the rule, and the offending
// value.
type Error struct {
	// Code is Ably's error code (40010 or 40032).
	Code int
	// Subject names what was checked, e.g. `channel name "[x]y"` or
	// `header "a"`.
	Subject string
	// Rule says which rule was broken, e.g. "must not start with '['".
	Rule string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s %s (Ably refuses it with %d)", e.Subject, e.Rule, e.Code)
}

// ChannelRules is a one-line summary of the channel naming rules.
const ChannelRules = "channel names must not be empty, start with '[' or ':', or contain a line break"

// HeaderRules is a one-line summary of the headers rule.
const HeaderRules = "headers must be a flat JSON object whose values are strings, numbers, booleans or null"

// Channel checks a channel name against Ably's naming rules and returns an
// *Error with code 40010 naming the broken rule, or nil.
func Channel(name string) error {
	rule := ""
	switch {
	case name == "":
		rule = "must not be empty"
	case name[0] == '[':
		rule = "must not start with '[' (a [qualifier] prefix is not a plain channel)"
	case name[0] == ':':
		rule = "must not start with ':'"
	case strings.ContainsAny(name, "\r\n"):
		rule = "must not contain a line break"
	}
	if rule == "" {
		return nil
	}
	return &Error{Code: CodeInvalidChannelName, Subject: "channel name " + strconv.Quote(name), Rule: rule}
}

// HeaderValues checks decoded extras.headers: nil (absent) or a map whose
// values are scalars (string, bool, nil or a number of any Go numeric type).
// It returns an *Error with code 40032, or nil. Keys are checked in sorted
// order so the error is deterministic.
func HeaderValues(headers any) error {
	if headers == nil {
		return nil
	}
	m, ok := headers.(map[string]any)
	if !ok {
		return &Error{Code: CodeInvalidExtras, Subject: "extras.headers", Rule: "must be an object, not " + kind(headers)}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !scalar(m[k]) {
			return &Error{Code: CodeInvalidExtras, Subject: "header " + strconv.Quote(k),
				Rule: "has " + kind(m[k]) + " value: " + HeaderRules}
		}
	}
	return nil
}

// Headers checks a headers JSON text as written to the outbox: exactly one
// JSON object whose values are scalars. Invalid JSON is reported by the
// caller's JSON check; here it is simply refused.
func Headers(raw []byte) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return &Error{Code: CodeInvalidExtras, Subject: "headers", Rule: "must be a JSON object (they become the message's extras.headers)"}
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return &Error{Code: CodeInvalidExtras, Subject: "headers", Rule: "must be valid JSON: " + err.Error()}
	}
	return HeaderValues(v)
}

// scalar reports whether v is a value Ably accepts in a header.
func scalar(v any) bool {
	switch v.(type) {
	case nil, string, bool, json.Number, float64, float32,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// kind names a decoded value's type for messages.
func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case []byte:
		return "a binary"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "a null"
	}
	if scalar(v) {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
