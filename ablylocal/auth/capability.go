package auth

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// Operations lists every capability operation Ably knows, except "*".
var Operations = []string{
	"publish", "subscribe", "presence", "history", "stats", "channel-metadata",
	"push-subscribe", "push-admin", "object-subscribe", "object-publish",
	"annotation-publish", "annotation-subscribe", "message-update-own",
	"message-update-any", "message-delete-own", "message-delete-any",
	"privileged-headers",
}

// Capability maps a resource pattern (e.g. "chat:*" or "[*]*") to the
// operations it allows (e.g. ["publish","subscribe"] or ["*"]).
type Capability map[string][]string

// ParseCapability parses a requested capability. It returns error 40000 for
// invalid JSON, an empty object, an empty resource name, an empty operation
// list, an unknown operation, or "*" mixed with other operations.
func ParseCapability(js string) (Capability, *Error) {
	var raw map[string][]string
	dec := json.NewDecoder(strings.NewReader(js))
	if err := dec.Decode(&raw); err != nil {
		return nil, newError(codeBadRequest, "invalid capability %q: want a JSON object mapping resources to operation arrays: %v", js, err)
	}
	if dec.More() {
		return nil, newError(codeBadRequest, "invalid capability %q: trailing data after the JSON object", js)
	}
	if len(raw) == 0 {
		return nil, newError(codeBadRequest, "invalid capability %q: no resources", js)
	}
	c := make(Capability, len(raw))
	for res, ops := range raw {
		if res == "" {
			return nil, newError(codeBadRequest, "invalid capability %q: empty resource name", js)
		}
		if strings.HasPrefix(res, "[") && !strings.Contains(res, "]") {
			return nil, newError(codeBadRequest, "invalid capability %q: resource %q has an unclosed qualifier", js, res)
		}
		if len(ops) == 0 {
			return nil, newError(codeBadRequest, "invalid capability %q: resource %q has no operations", js, res)
		}
		set := map[string]bool{}
		for _, op := range ops {
			if op != "*" && !slices.Contains(Operations, op) {
				return nil, newError(codeBadRequest, "invalid capability %q: unknown operation %q for resource %q", js, op, res)
			}
			set[op] = true
		}
		if set["*"] && len(set) > 1 {
			return nil, newError(codeBadRequest, "invalid capability %q: resource %q mixes \"*\" with other operations", js, res)
		}
		c[res] = sortedKeys(set)
	}
	return c, nil
}

// String returns the canonical JSON form: keys sorted, operations sorted and
// de-duplicated, no HTML escaping (the form ably-js signs).
func (c Capability) String() string {
	canon := make(map[string][]string, len(c))
	for res, ops := range c {
		set := map[string]bool{}
		for _, op := range ops {
			set[op] = true
		}
		canon[res] = sortedKeys(set)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(canon); err != nil {
		return "{}"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// Ops returns the union of the operations of every resource matching the
// channel name; "*" expands to every operation.
func (c Capability) Ops(channel string) map[string]bool {
	out := map[string]bool{}
	for res, ops := range c {
		if !matchResource(res, channel) {
			continue
		}
		for _, op := range ops {
			if op == "*" {
				for _, o := range Operations {
					out[o] = true
				}
				continue
			}
			out[op] = true
		}
	}
	return out
}

// Allows reports whether the operation is allowed on the channel.
func (c Capability) Allows(channel, op string) bool {
	// on every published message: no map, no allocation
	for res, ops := range c {
		if (slices.Contains(ops, op) || slices.Contains(ops, "*")) && matchResource(res, channel) {
			return true
		}
	}
	return false
}

// AllowsAnyChannel reports whether the operation is granted on a resource
// that matches every channel ("*" or "[*]*"), as app-wide operations such as
// "stats" require.
func (c Capability) AllowsAnyChannel(op string) bool {
	for res, ops := range c {
		q, pattern := splitQualifier(res)
		if pattern != "*" || (q != "" && q != "*") {
			continue
		}
		if slices.Contains(ops, "*") || slices.Contains(ops, op) {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of a set in sorted order.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
