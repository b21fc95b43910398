package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ValidationError is one problem with a configuration value. Load and
// Validate return one, or several joined with errors.Join (errors.As finds
// the first).
type ValidationError struct {
	// File is the configuration file, "" when the value did not come from one.
	File string
	// Line is the 1-based line in File, 0 when unknown.
	Line int
	// Key is the key path, e.g. "connector.batchSize"; "" for whole-file errors.
	Key string
	// Source names a non-file origin: "env LIVESYNC_CONNECTOR_NODES" or
	// "flag connector.nodes"; "" for file and default values.
	Source string
	// Message says what is wrong.
	Message string
	// Hint says how to fix it.
	Hint string
}

// Error renders "file:line: key: message; hint".
func (e *ValidationError) Error() string {
	var b strings.Builder
	switch {
	case e.Source != "":
		b.WriteString(e.Source + ": ")
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	}
	// "flag ably.local.addr" already names the key: do not repeat it.
	if e.Key != "" && !strings.HasSuffix(e.Source, " "+e.Key) {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// origin records where a key's value came from.
type origin struct {
	file string
	line int
	env  string
	flag string
}

// Origin says where the value of a key path came from: "default",
// "FILE:LINE", "env:VARIABLE" or "flag:KEY.PATH". A real Ably key's origin
// is what sandbox.json reports as keySource.
func (c *Config) Origin(path string) string {
	o, ok := c.origins[path]
	switch {
	case !ok:
		return "default"
	case o.env != "":
		return "env:" + o.env
	case o.flag != "":
		return "flag:" + o.flag
	}
	return fmt.Sprintf("%s:%d", o.file, o.line)
}

// errAt builds a ValidationError located where key's value came from.
func (c *Config) errAt(key, msg, hint string) *ValidationError {
	e := &ValidationError{Key: key, Message: msg, Hint: hint}
	if o, ok := c.origins[key]; ok {
		e.File, e.Line = o.file, o.line
		if o.env != "" {
			e.Source = "env " + o.env
		}
		if o.flag != "" {
			e.Source = "flag " + o.flag
		}
	}
	return e
}

// setOrigin records the origin of a key path.
func (c *Config) setOrigin(path string, o origin) {
	if c.origins == nil {
		c.origins = map[string]origin{}
	}
	c.origins[path] = o
}

// joinErrors sorts problems by file position and joins them; nil when none.
func joinErrors(list []*ValidationError) error {
	if len(list) == 0 {
		return nil
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if (a.Source == "") != (b.Source == "") {
			return a.Source == ""
		}
		return a.Line < b.Line
	})
	if len(list) == 1 {
		return list[0]
	}
	errs := make([]error, len(list))
	for i, e := range list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// suggest returns the candidate closest to word, or "" when none is close.
// Case, '_' and '-' are ignored, so poll_interval finds pollInterval.
func suggest(word string, candidates []string) string {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	w := norm(word)
	best, bestDist := "", len(w)/3+2
	for _, c := range candidates {
		if d := levenshtein(w, norm(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
