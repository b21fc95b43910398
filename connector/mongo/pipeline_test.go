package mongo

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestParsePipelineAcceptsRules: the default rule pipeline, an empty one,
// and Extended JSON values inside a stage become BSON stages.
func TestParsePipelineAcceptsRules(t *testing.T) {
	p, err := ParsePipeline(`[{"$match":{"operationType":{"$in":["insert","update"]},"wallTime":{"$gt":{"$date":"2024-01-02T03:04:05Z"}}}},
	  {"$set":{"_ablyChannel":{"$concat":["mongo:","$ns.coll"]},"_ablyMsgName":"$operationType"}}]`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 {
		t.Fatalf("%d stages", len(p))
	}
	raw, _ := bson.Marshal(bson.D{{Key: "p", Value: p}})
	gt := bson.Raw(raw).Lookup("p", "0", "$match", "wallTime", "$gt")
	if dt, ok := gt.DateTimeOK(); !ok || time.UnixMilli(dt).UTC() != time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Errorf("$date not read as a BSON date: %v", gt)
	}
	for _, empty := range []string{"", "[]", "  [ ] "} {
		if p, err := ParsePipeline(empty); err != nil || len(p) != 0 {
			t.Errorf("%q: %v %v", empty, p, err)
		}
	}
}

// TestParsePipelineErrors: each invalid pipeline is a 72005 naming the
// problem and the stage.
func TestParsePipelineErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"$match":{}}`, "not a JSON array"},
		{`[{"$match":{}]`, "not valid JSON"},
		{`[{"$match":{}}, 3]`, "stage 2 is not an object"},
		{`[{"$match":{}, "$set":{"a":1}}]`, "stage 1 has 2 fields"},
		{`[{}]`, "stage 1 has 0 fields"},
		{`[{"$lookup":{"from":"x"}}]`, `"$lookup" is not allowed in a change stream`},
		{`[{"$match":{}},{"$out":"x"}]`, `stage 2: "$out" is not allowed`},
		{`[{"$unset":"_id"}]`, "removes _id"},
		{`[{"$unset":["a","_id"]}]`, "removes _id"},
		{`[{"$project":{"_id":0}}]`, "removes _id"},
		{`[{"$set":{"_id":"x"}}]`, "sets _id"},
	} {
		_, err := ParsePipeline(c.in)
		if CodeOf(err) != CodePipeline || !strings.Contains(err.Error(), "invalid pipeline: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want 72005 with %q", c.in, err, c.want)
		}
	}
}

// TestStartRejectsInvalidPipeline: a bad pipeline fails Start with 72005
// before any stream is opened.
func TestStartRejectsInvalidPipeline(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Pipeline = `[{"$group":{"_id":null}}]`
	c, err := Start(t.Context(), o)
	if c != nil || CodeOf(err) != CodePipeline {
		t.Fatalf("Start: %v, %v; want a 72005", c, err)
	}
	if n := len(e.log.opened()); n != 0 {
		t.Errorf("%d streams opened", n)
	}
}
