package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// applyYAML walks the file's node tree against the key tree, setting each
// known key and reporting every unknown key, duplicate and bad value.
func (c *Config) applyYAML(file string, data []byte) []*ValidationError {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return []*ValidationError{syntaxError(file, data, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return []*ValidationError{{File: file, Line: extra.Line, Message: "a second YAML document starts here",
			Hint: "keep one document: remove the '---' separator and merge the sections"}}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	if isNull(top) {
		return nil
	}
	root, _, _ := tree()
	if top.Kind != yaml.MappingNode {
		return []*ValidationError{{File: file, Line: top.Line, Message: "the file must be a mapping of sections",
			Hint: "start with a section such as 'connector:' and indent its keys under it (see 'livesync-dev init')"}}
	}
	w := &yamlWalker{c: c, file: file}
	w.mapping(top, root)
	return w.problems
}

// syntaxError turns a yaml.v3 parse error into a located ValidationError.
func syntaxError(file string, data []byte, err error) *ValidationError {
	msg := err.Error()
	e := &ValidationError{File: file, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: "),
		Hint: "fix the syntax: indent with spaces, put a space after ':', quote values containing ': ' or ' #'"}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		rest := msg[len(m[0]):]
		e.Message = "invalid YAML: " + rest
		if isParserError(rest) {
			// yaml.v3 reports parser errors at the 0-based line where the
			// enclosing structure starts; make it 1-based and say so.
			e.Line++
			e.Message += " in the structure that starts on this line"
		}
		lines := strings.Split(string(data), "\n")
		if e.Line >= 1 && e.Line <= len(lines) && strings.Contains(lines[e.Line-1], "\t") {
			e.Hint = "indent with spaces: YAML does not allow tabs"
		}
	}
	return e
}

// isParserError tells yaml.v3's parser errors from its scanner errors.
func isParserError(msg string) bool {
	for _, p := range []string{"did not find expected node content", "did not find expected key",
		"did not find expected ',' or", "did not find expected '-' indicator", "did not find expected <"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func isNull(v *yaml.Node) bool { return v.Kind == yaml.ScalarNode && v.Tag == "!!null" }

type yamlWalker struct {
	c        *Config
	file     string
	problems []*ValidationError
}

func (w *yamlWalker) fail(line int, key, msg, hint string) {
	w.problems = append(w.problems, &ValidationError{File: w.file, Line: line, Key: key, Message: msg, Hint: hint})
}

func (w *yamlWalker) mapping(m *yaml.Node, parent *node) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		path := strings.TrimPrefix(parent.path+"."+k.Value, ".")
		if first, dup := seen[k.Value]; dup {
			w.fail(k.Line, path, fmt.Sprintf("key is set twice (first on line %d)", first), "remove one of the two")
			continue
		}
		seen[k.Value] = k.Line
		var child *node
		for _, ch := range parent.children {
			if ch.name == k.Value {
				child = ch
			}
		}
		if child == nil {
			w.fail(k.Line, path, "unknown key", unknownHint(k.Value, parent))
			continue
		}
		if child.isSection() {
			switch {
			case isNull(v):
			case v.Kind != yaml.MappingNode:
				w.fail(v.Line, path, "must be a section of keys, not a single value",
					fmt.Sprintf("indent its keys under '%s:' (see 'livesync-dev init')", k.Value))
			default:
				w.mapping(v, child)
			}
			continue
		}
		w.leaf(child, v)
	}
}

// unknownHint suggests a sibling key, or the key's proper section.
func unknownHint(name string, parent *node) string {
	names := make([]string, len(parent.children))
	for i, ch := range parent.children {
		names[i] = ch.name
	}
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	if p := suggestLeaf(name); p != "" {
		return fmt.Sprintf("did you mean %q? it belongs under '%s:'", p, p[:strings.LastIndex(p, ".")])
	}
	where := "at the top level"
	if parent.path != "" {
		where = "under '" + parent.path + ":'"
	}
	return "valid keys " + where + ": " + strings.Join(names, ", ")
}

// suggestLeaf returns the path of the key whose last segment is closest to
// name, or "" when none is close.
func suggestLeaf(name string) string {
	_, leaves, _ := tree()
	names := make([]string, len(leaves))
	for i, l := range leaves {
		names[i] = l.name
	}
	s := suggest(name, names)
	for _, l := range leaves {
		if s != "" && l.name == s {
			return l.path
		}
	}
	return ""
}

// leaf decodes one value node into the key's field.
func (w *yamlWalker) leaf(n *node, v *yaml.Node) {
	val, msg, hint := decodeLeaf(n, v)
	if msg != "" {
		w.fail(v.Line, n.path, n.redact(msg), hint)
		return
	}
	n.field(w.c).Set(val)
	w.c.setOrigin(n.path, origin{file: w.file, line: v.Line})
	for i, item := range v.Content {
		if v.Kind == yaml.SequenceNode {
			w.c.setOrigin(fmt.Sprintf("%s[%d]", n.path, i), origin{file: w.file, line: item.Line})
		} else if v.Kind == yaml.MappingNode && i%2 == 1 {
			w.c.setOrigin(n.path+"."+v.Content[i-1].Value, origin{file: w.file, line: item.Line})
		}
	}
}

// decodeLeaf returns the value, or a message and hint saying what is wrong.
func decodeLeaf(n *node, v *yaml.Node) (reflect.Value, string, string) {
	out := reflect.New(n.typ).Elem()
	kind := n.typ.Kind()
	if n.path == "mongo.pipeline" && (v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode) {
		var x any
		if err := v.Decode(&x); err != nil {
			return out, "cannot read the pipeline: " + err.Error(), "write it as a JSON array string"
		}
		b, err := json.Marshal(x)
		if err != nil {
			return out, "cannot convert the pipeline to JSON: " + err.Error(), "write it as a JSON array string"
		}
		out.SetString(string(b))
		return out, "", ""
	}
	if n.typ == faultsType {
		return decodeFaults(v, out)
	}
	if kind == reflect.Slice || kind == reflect.Map {
		return decodeCollection(n, v, out)
	}
	if v.Kind != yaml.ScalarNode {
		return out, "must be a single value, not a " + kindName(v), "write it on the same line as the key, e.g. " + n.name + ": " + formatValue(n.field(ptrDefault()))
	}
	if isNull(v) {
		if kind == reflect.String {
			return out, "", ""
		}
		return out, "has no value", "write a value, e.g. " + n.name + ": " + formatValue(n.field(ptrDefault())) + ", or remove the key to keep the default"
	}
	switch {
	case n.typ == durationType:
		if v.Tag == "!!int" || v.Tag == "!!float" {
			return out, fmt.Sprintf("%s has no unit", v.Value), fmt.Sprintf("add a unit, e.g. %sms or %ss", v.Value, v.Value)
		}
		d, hint, err := parseDuration(v.Value)
		if err != nil {
			return out, err.Error(), hint
		}
		out.SetInt(int64(d))
	case kind == reflect.String:
		out.SetString(v.Value)
	case (kind == reflect.Bool || kind == reflect.Int) && quoted(v):
		what := "a whole number"
		if kind == reflect.Bool {
			what = "true or false"
		}
		return out, fmt.Sprintf("%q is a quoted string, not %s", v.Value, what), fmt.Sprintf("remove the quotes: %s: %s", n.name, v.Value)
	case kind == reflect.Bool:
		var b bool
		if err := v.Decode(&b); err != nil {
			pb, perr := strconv.ParseBool(v.Value)
			if perr != nil {
				return out, fmt.Sprintf("%q is not a boolean", v.Value), "write true or false"
			}
			b = pb
		}
		out.SetBool(b)
	case kind == reflect.Int:
		i, err := strconv.Atoi(v.Value)
		if err != nil && (v.Tag != "!!int" || v.Decode(&i) != nil) {
			return out, fmt.Sprintf("%q is not a whole number", v.Value), "write a whole number such as " + n.exampleInt()
		}
		out.SetInt(int64(i))
	}
	return out, "", ""
}

// decodeCollection decodes permanentCodes (a list) and dashboard.keys (a map).
func decodeCollection(n *node, v *yaml.Node, out reflect.Value) (reflect.Value, string, string) {
	if n.typ.Kind() == reflect.Slice {
		codes := []int{}
		if !isNull(v) {
			if v.Kind != yaml.SequenceNode {
				return out, "must be a list of numbers", "write e.g. " + n.name + ": [40009, 40010]"
			}
			for _, item := range v.Content {
				var i int
				if item.Kind != yaml.ScalarNode || item.Tag != "!!int" || item.Decode(&i) != nil {
					return out, fmt.Sprintf("list item %q on line %d is not a whole number", item.Value, item.Line), "write Ably error codes such as 40009"
				}
				codes = append(codes, i)
			}
		}
		out.Set(reflect.ValueOf(codes))
		return out, "", ""
	}
	m := map[string]string{}
	if !isNull(v) {
		if v.Kind != yaml.MappingNode {
			return out, "must be a mapping of action names to keys", "write e.g. keys: {quit: q}"
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], v.Content[i+1]
			if val.Kind != yaml.ScalarNode {
				return out, fmt.Sprintf("the key for %q on line %d must be a single string", k.Value, val.Line), "write e.g. " + k.Value + ": q"
			}
			m[k.Value] = val.Value
		}
	}
	out.Set(reflect.ValueOf(m))
	return out, "", ""
}

// quoted reports whether a scalar was written as a string ("100", '100' or
// !!str 100), which YAML reads as text, not as a number or boolean.
func quoted(v *yaml.Node) bool {
	return v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 || v.Tag == "!!str" && v.Style&yaml.TaggedStyle != 0
}

func kindName(v *yaml.Node) string {
	if v.Kind == yaml.SequenceNode {
		return "list"
	}
	return "mapping"
}

func ptrDefault() *Config {
	d := Default()
	return &d
}
