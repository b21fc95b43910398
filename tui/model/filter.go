package model

import "strings"

// Matcher is a compiled `/` filter: a case-insensitive substring, or with a
// leading "!" its inverse. The empty filter matches everything.
type Matcher struct {
	text    string
	inverse bool
}

// NewMatcher compiles a filter typed after `/`.
func NewMatcher(q string) Matcher {
	q = strings.TrimSpace(q)
	if rest, ok := strings.CutPrefix(q, "!"); ok {
		return Matcher{text: strings.ToLower(strings.TrimSpace(rest)), inverse: true}
	}
	return Matcher{text: strings.ToLower(q)}
}

// Empty reports whether the filter matches everything.
func (m Matcher) Empty() bool { return m.text == "" }

// Inverse reports whether the filter excludes matches.
func (m Matcher) Inverse() bool { return m.inverse }

// Text returns the substring searched for (lower case).
func (m Matcher) Text() string { return m.text }

// Match reports whether any of the fields satisfies the filter.
func (m Matcher) Match(fields ...string) bool {
	if m.text == "" {
		return true
	}
	found := false
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), m.text) {
			found = true
			break
		}
	}
	return found != m.inverse
}
