package mongo

import (
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// StreamStages are the aggregation stages MongoDB accepts in a change
// stream pipeline.
var StreamStages = []string{
	"$addFields", "$changeStreamSplitLargeEvent", "$match", "$project",
	"$redact", "$replaceRoot", "$replaceWith", "$set", "$unset",
}

// ParsePipeline validates the rule's pipeline — a JSON array (as a string)
// of stage objects, each with exactly one known change-stream stage, none
// removing or changing the event _id (the resume token) — and returns it as
// BSON. Values are read as relaxed Extended JSON, so {"$date": ...} is a
// date. Errors are code 72005 and say which stage is wrong and how to fix it.
func ParsePipeline(text string) (bson.A, error) {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodePipeline, Message: "invalid pipeline: " + fmt.Sprintf(format, args...)}
	}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return bson.A{}, nil
	}
	if !strings.HasPrefix(trimmed, "[") {
		return nil, bad(`it is not a JSON array; write the stages in [ ], e.g. [{"$set":{"_ablyChannel":"events"}}]`)
	}
	var wrap struct {
		P []bson.RawValue `bson:"p"`
	}
	if err := bson.UnmarshalExtJSON([]byte(`{"p":`+trimmed+`}`), false, &wrap); err != nil {
		return nil, bad("not valid JSON: %v", err)
	}
	out := make(bson.A, 0, len(wrap.P))
	for i, v := range wrap.P {
		raw, ok := v.DocumentOK()
		if !ok {
			return nil, bad("stage %d is not an object: write each stage as {\"$stage\": {...}}", i+1)
		}
		elems, err := raw.Elements()
		if err != nil {
			return nil, bad("stage %d is not an object: write each stage as {\"$stage\": {...}}", i+1)
		}
		if len(elems) != 1 {
			return nil, bad("stage %d has %d fields: a stage has exactly one, such as {\"$match\": {...}}", i+1, len(elems))
		}
		name := elems[0].Key()
		if !knownStage(name) {
			return nil, bad("stage %d: %q is not allowed in a change stream; use one of %s", i+1, name, strings.Join(StreamStages, ", "))
		}
		if why := touchesID(name, elems[0].Value()); why != "" {
			return nil, bad("stage %d (%s) %s: the event _id is the resume token and MongoDB rejects pipelines that change it", i+1, name, why)
		}
		var d bson.D
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, bad("stage %d: %v", i+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func knownStage(name string) bool {
	i := sort.SearchStrings(StreamStages, name)
	return i < len(StreamStages) && StreamStages[i] == name
}

// touchesID says how a stage modifies _id, or "" when it does not (as far
// as can be told without a server).
func touchesID(stage string, v bson.RawValue) string {
	switch stage {
	case "$set", "$addFields":
		if doc, ok := v.DocumentOK(); ok {
			if _, err := doc.LookupErr("_id"); err == nil {
				return "sets _id"
			}
		}
	case "$unset":
		if s, ok := v.StringValueOK(); ok && s == "_id" {
			return "removes _id"
		}
		if arr, ok := v.ArrayOK(); ok {
			vals, _ := arr.Values()
			for _, x := range vals {
				if s, ok := x.StringValueOK(); ok && s == "_id" {
					return "removes _id"
				}
			}
		}
	case "$project":
		if doc, ok := v.DocumentOK(); ok {
			if x, err := doc.LookupErr("_id"); err == nil {
				if b, ok := x.BooleanOK(); ok && !b {
					return "removes _id"
				}
				if n, ok := x.AsInt64OK(); ok && n == 0 {
					return "removes _id"
				}
			}
		}
	}
	return ""
}
