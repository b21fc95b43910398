package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"
)

// DefaultFile is the configuration file looked for in the current directory.
const DefaultFile = "livesync.yaml"

// Source says where Load reads configuration from.
type Source struct {
	// File is the YAML file. "" means LIVESYNC_CONFIG from Env if set, else
	// DefaultFile in the current directory when it exists (parent
	// directories are not searched, so a stray file higher up never applies).
	// A file named explicitly, here or by LIVESYNC_CONFIG, must exist.
	File string
	// Env is the environment in os.Environ form. LIVESYNC_* variables named
	// in KeyPaths override the file; ABLY_API_KEY sets ably.key with lower
	// precedence than LIVESYNC_ABLY_KEY. Empty values count as unset, and
	// LIVESYNC_* names that are not keys are ignored.
	Env []string
	// Flags maps key paths to command-line values and overrides everything
	// else, e.g. {"connector.nodes": "3"}. "dashboard.keys.ACTION" sets one
	// key binding. Unknown paths are an error.
	Flags map[string]string
}

// path returns the file to read and whether it must exist.
func (s Source) path() (string, bool) {
	if s.File != "" {
		return s.File, true
	}
	if f := lookupEnv(s.Env, "LIVESYNC_CONFIG"); f != "" {
		return f, true
	}
	return DefaultFile, false
}

// Load builds a configuration from defaults, the file, the environment and
// flags, in that order of precedence, and validates it. Errors are
// *ValidationError values (several joined with errors.Join).
func Load(src Source) (*Config, error) {
	c := Default()
	path, required := src.path()
	data, err := os.ReadFile(path)
	var problems []*ValidationError
	switch {
	case err == nil:
		problems = append(problems, c.applyYAML(path, data)...)
	case errors.Is(err, fs.ErrNotExist) && !required:
		// No file: defaults, environment and flags only.
	case errors.Is(err, fs.ErrNotExist):
		return nil, &ValidationError{File: path, Message: "file not found",
			Hint: "check the path, or run 'livesync-dev init --file " + path + "' to write one with every default"}
	default:
		return nil, &ValidationError{File: path, Message: "cannot read: " + unwrapPathError(err),
			Hint: "check the file's permissions"}
	}
	problems = append(problems, c.applyEnv(src.Env)...)
	problems = append(problems, c.applyFlags(src.Flags)...)
	if err := joinErrors(problems); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// lookupEnv returns the last value of name in env ("" when absent).
func lookupEnv(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// applyEnv applies ABLY_API_KEY and the LIVESYNC_* variables.
func (c *Config) applyEnv(env []string) []*ValidationError {
	var problems []*ValidationError
	if k := lookupEnv(env, "ABLY_API_KEY"); k != "" {
		c.Ably.Key = k
		c.setOrigin("ably.key", origin{env: "ABLY_API_KEY"})
	}
	_, leaves, _ := tree()
	for _, n := range leaves {
		name := envName(n.path)
		s := lookupEnv(env, name)
		if s == "" {
			continue
		}
		v, hint, err := n.parseText(s)
		if err != nil {
			problems = append(problems, &ValidationError{Source: "env " + name, Key: n.path, Message: n.redact(err.Error()), Hint: hint})
			continue
		}
		n.field(c).Set(v)
		c.setOrigin(n.path, origin{env: name})
	}
	return problems
}

// applyFlags applies command-line values keyed by key path.
func (c *Config) applyFlags(flags map[string]string) []*ValidationError {
	_, leaves, byPath := tree()
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []*ValidationError
	for _, path := range keys {
		s := flags[path]
		if action, ok := strings.CutPrefix(path, "dashboard.keys."); ok && action != "" {
			if c.Dashboard.Keys == nil {
				c.Dashboard.Keys = map[string]string{}
			}
			c.Dashboard.Keys[action] = s
			c.setOrigin(path, origin{flag: path})
			continue
		}
		n := byPath[path]
		if n == nil || n.isSection() {
			paths := make([]string, len(leaves))
			for i, l := range leaves {
				paths[i] = l.path
			}
			sug := suggest(path, paths)
			if sug == "" {
				sug = suggestLeaf(path[strings.LastIndex(path, ".")+1:])
			}
			problems = append(problems, &ValidationError{Source: "flag " + path, Message: "unknown configuration key", Hint: didYouMean(sug, "see 'livesync-dev init' for every key")})
			continue
		}
		v, hint, err := n.parseText(s)
		if err != nil {
			problems = append(problems, &ValidationError{Source: "flag " + path, Key: path, Message: n.redact(err.Error()), Hint: hint})
			continue
		}
		n.field(c).Set(v)
		c.setOrigin(path, origin{flag: path})
	}
	return problems
}

// redact keeps secret values out of error messages.
func (n *node) redact(msg string) string {
	if n.secret {
		return "the value is not valid"
	}
	return msg
}

func didYouMean(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return fmt.Sprintf("did you mean %q?", s)
}

// Equal reports whether two configurations hold the same values, whatever
// their origins. A nil and an empty key map are equal.
func (c *Config) Equal(o *Config) bool {
	if c == nil || o == nil {
		return c == o
	}
	a, b := *c, *o
	a.origins, b.origins = nil, nil
	for _, x := range []*Config{&a, &b} {
		if len(x.Dashboard.Keys) == 0 {
			x.Dashboard.Keys = nil
		}
		if len(x.Connector.PermanentCodes) == 0 {
			x.Connector.PermanentCodes = nil
		}
	}
	return reflect.DeepEqual(a, b)
}
