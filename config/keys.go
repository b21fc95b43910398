package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// KeyInfo describes one configuration key.
type KeyInfo struct {
	// Path is the dotted key path, e.g. "connector.pollInterval".
	Path string
	// Env is the environment variable that sets the key.
	Env string
	// Default is the built-in value as written in livesync.yaml.
	Default string
	// Doc is a one-line description, including allowed values or range.
	Doc string
}

// node is one entry of the key tree: a section (children set) or a leaf.
type node struct {
	path     string
	name     string
	index    []int
	typ      reflect.Type
	doc      string
	enum     []string // allowed values; nil = any
	min, max string   // range from tags; "" = unbounded
	secret   bool
	children []*node
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	faultsType   = reflect.TypeOf([]fault.Rule(nil))
	treeOnce     sync.Once
	treeRoot     *node
	treeLeaves   []*node
	treeByPath   map[string]*node
)

// tree returns the key tree built from Config's struct tags.
func tree() (*node, []*node, map[string]*node) {
	treeOnce.Do(func() {
		treeRoot = &node{typ: reflect.TypeOf(Config{})}
		treeByPath = map[string]*node{}
		build(treeRoot)
	})
	return treeRoot, treeLeaves, treeByPath
}

func build(parent *node) {
	for i := 0; i < parent.typ.NumField(); i++ {
		f := parent.typ.Field(i)
		name := f.Tag.Get("yaml")
		if name == "" || !f.IsExported() {
			continue
		}
		n := &node{
			name:   name,
			path:   strings.TrimPrefix(parent.path+"."+name, "."),
			index:  append(append([]int{}, parent.index...), i),
			typ:    f.Type,
			doc:    f.Tag.Get("doc"),
			min:    f.Tag.Get("min"),
			max:    f.Tag.Get("max"),
			secret: f.Tag.Get("secret") == "true",
		}
		if e, ok := f.Tag.Lookup("enum"); ok {
			n.enum = strings.Split(e, "|")
		}
		parent.children = append(parent.children, n)
		treeByPath[n.path] = n
		if n.isSection() {
			build(n)
		} else {
			treeLeaves = append(treeLeaves, n)
		}
	}
}

func (n *node) isSection() bool { return n.typ.Kind() == reflect.Struct && n.typ != durationType }

// field returns the value of n inside c, settable.
func (n *node) field(c *Config) reflect.Value { return reflect.ValueOf(c).Elem().FieldByIndex(n.index) }

// envName returns the LIVESYNC_* variable of a key path.
func envName(path string) string {
	var b strings.Builder
	b.WriteString("LIVESYNC")
	for _, seg := range strings.Split(path, ".") {
		b.WriteByte('_')
		rs := []rune(seg)
		for i, r := range rs {
			if i > 0 && unicode.IsUpper(r) {
				prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// describe returns the doc line with allowed values or range appended.
func (n *node) describe() string {
	d := n.doc
	switch {
	case n.enum != nil:
		vals := make([]string, len(n.enum))
		for i, v := range n.enum {
			vals[i] = strconv.Quote(v)
		}
		d += " One of " + strings.Join(vals, ", ") + "."
	case n.typ == durationType:
		d += " Duration, at least " + formatDuration(n.minDuration()) + "."
	case n.min != "" && n.max != "":
		d += fmt.Sprintf(" Range %s..%s.", n.min, n.max)
	}
	switch {
	case n.typ == faultsType:
		d += ` Env and flags: a JSON array, e.g. [{"channel":"demo:*","code":40160}].`
	case n.typ.Kind() == reflect.Slice:
		d += " Env and flags: comma-separated."
	case n.typ.Kind() == reflect.Map:
		d += ` Env and flags: a JSON object, e.g. {"quit":"q"}.`
	}
	return d
}

// KeyPaths lists every key in file order. The README reference and the file
// written by `livesync-dev init` are generated from it.
func KeyPaths() []KeyInfo {
	_, leaves, _ := tree()
	def := Default()
	out := make([]KeyInfo, 0, len(leaves))
	for _, n := range leaves {
		out = append(out, KeyInfo{Path: n.path, Env: envName(n.path), Default: formatValue(n.field(&def)), Doc: n.describe()})
	}
	return out
}

// formatDuration writes d in the shortest unit that represents it exactly.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return d.String()
}

// formatValue renders a leaf value as YAML flow text.
func formatValue(v reflect.Value) string {
	if v.Type() == durationType {
		return formatDuration(time.Duration(v.Int()))
	}
	if v.Type() == faultsType {
		b, _ := json.Marshal(v.Interface())
		if v.Len() == 0 {
			b = []byte("[]")
		}
		return string(b)
	}
	switch v.Kind() {
	case reflect.String:
		return quoteString(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = strconv.FormatInt(v.Index(i).Int(), 10)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = quoteString(k) + ": " + quoteString(v.MapIndex(reflect.ValueOf(k)).String())
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic("config: unsupported field type " + v.Type().String())
}

// quoteString returns s as a YAML scalar: plain when safe, else single-quoted.
func quoteString(s string) string {
	if s != "" && isPlainSafe(s) {
		return s
	}
	if s == "" {
		return `""`
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func isPlainSafe(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	for i, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._/-", r) || (r == ':' && i > 0 && !strings.HasPrefix(s[i:], ": "))
		if !ok {
			return false
		}
	}
	return !strings.ContainsAny(s[:1], "-:")
}

// parseText converts env or flag text into a value of n's type.
func (n *node) parseText(s string) (reflect.Value, string, error) {
	v := reflect.New(n.typ).Elem()
	if n.typ == durationType {
		d, hint, err := parseDuration(s)
		if err != nil {
			return v, hint, err
		}
		v.SetInt(int64(d))
		return v, "", nil
	}
	if n.typ == faultsType {
		rules, err := fault.ParseRules(s)
		if err != nil {
			return v, `write a JSON array of rules, e.g. [{"channel":"demo:*","code":40160}]`, err
		}
		v.Set(reflect.ValueOf(append([]fault.Rule{}, rules...)))
		return v, "", nil
	}
	switch n.typ.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return v, "write true or false", fmt.Errorf("%q is not a boolean", s)
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return v, "write a whole number such as " + n.exampleInt(), fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(i))
	case reflect.Slice:
		var codes []int
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "[") {
			if err := json.Unmarshal([]byte(t), &codes); err != nil {
				return v, "write numbers separated by commas, e.g. 40009,40010", fmt.Errorf("%q is not a list of numbers", s)
			}
		} else if t != "" {
			for _, p := range strings.Split(t, ",") {
				i, err := strconv.Atoi(strings.TrimSpace(p))
				if err != nil {
					return v, "write numbers separated by commas, e.g. 40009,40010", fmt.Errorf("%q is not a list of numbers", s)
				}
				codes = append(codes, i)
			}
		}
		v.Set(reflect.ValueOf(append([]int{}, codes...)))
	case reflect.Map:
		m := map[string]string{}
		if strings.TrimSpace(s) != "" {
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return v, `write a JSON object of strings, e.g. {"quit":"q"}`, fmt.Errorf("%q is not a JSON object of strings", s)
			}
		}
		v.Set(reflect.ValueOf(m))
	default:
		panic("config: unsupported field type " + n.typ.String())
	}
	return v, "", nil
}

// minDuration is the shortest value a duration key accepts: its min tag,
// or MinDuration.
func (n *node) minDuration() time.Duration {
	if d, err := time.ParseDuration(n.min); err == nil {
		return d
	}
	return MinDuration
}

func (n *node) exampleInt() string {
	if n.min != "" {
		return n.min
	}
	return "10"
}

// parseDuration accepts Go duration text with a unit ("250ms", "1s", "2m").
func parseDuration(s string) (time.Duration, string, error) {
	t := strings.TrimSpace(s)
	d, err := time.ParseDuration(t)
	if err != nil {
		if _, nerr := strconv.ParseFloat(t, 64); nerr == nil {
			return 0, fmt.Sprintf("add a unit, e.g. %sms or %ss", t, t), fmt.Errorf("%q has no unit", s)
		}
		return 0, "write a duration such as 250ms, 1s, 2m or 24h", fmt.Errorf("%q is not a duration", s)
	}
	return d, "", nil
}
