package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// faultFields are the keys a fault rule may have in livesync.yaml.
var faultFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(fault.Rule{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "id" {
			m[name] = true
		}
	}
	return m
}()

// decodeFaults decodes ably.local.faults: a list of rule mappings, each
// checked for unknown keys and validated, errors naming the rule's line.
func decodeFaults(v *yaml.Node, out reflect.Value) (reflect.Value, string, string) {
	rules := []fault.Rule{}
	example := "write e.g. faults: [{channel: 'demo:*', code: 40160}]"
	if isNull(v) {
		out.Set(reflect.ValueOf(rules))
		return out, "", ""
	}
	if v.Kind != yaml.SequenceNode {
		return out, "must be a list of fault rules", example
	}
	for i, item := range v.Content {
		if item.Kind != yaml.MappingNode {
			return out, fmt.Sprintf("rule %d on line %d is not a mapping of keys", i+1, item.Line), example
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			if k := item.Content[j]; !faultFields[k.Value] {
				known := make([]string, 0, len(faultFields))
				for f := range faultFields {
					known = append(known, f)
				}
				sort.Strings(known)
				return out, fmt.Sprintf("rule %d has an unknown key %q on line %d", i+1, k.Value, k.Line), "a rule's keys are " + strings.Join(known, ", ")
			}
		}
		var r fault.Rule
		if err := item.Decode(&r); err != nil {
			return out, fmt.Sprintf("rule %d on line %d: %v", i+1, item.Line, err), example
		}
		if err := r.Validate(); err != nil {
			return out, fmt.Sprintf("rule %d on line %d: %v", i+1, item.Line, err), example
		}
		rules = append(rules, r)
	}
	out.Set(reflect.ValueOf(rules))
	return out, "", ""
}
