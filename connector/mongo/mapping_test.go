package mongo

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMapRoutingNameHeaders: channel, name and headers come from the event
// root; a document field of the same name does not count.
func TestMapRoutingNameHeaders(t *testing.T) {
	ev := changeEvent(t, 1,
		bson.E{Key: FieldChannel, Value: "orders:42"},
		bson.E{Key: FieldName, Value: "insert"},
		bson.E{Key: FieldHeaders, Value: bson.D{{Key: "x-trace", Value: "t1"}, {Key: "n", Value: int32(5)}, {Key: "nested", Value: bson.D{}}}},
	)
	m, err := Map(ev, EncodingRelaxed)
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != "orders:42" || m.Message.Name != "insert" || m.Message.ID != MessageID(token(1)) {
		t.Errorf("channel %q name %q id %q", m.Channel, m.Message.Name, m.Message.ID)
	}
	h, _ := m.Message.Extras["headers"].(map[string]any)
	if len(h) != 1 || h["x-trace"] != "t1" {
		t.Errorf("headers %v, want only the string header", h)
	}
	if len(m.Warnings) != 2 || !strings.Contains(m.Warnings[0], `header "n" is a 32-bit integer`) {
		t.Errorf("warnings %q", m.Warnings)
	}
	// data is the whole event, routing fields included (not stripped).
	var data map[string]any
	if err := json.Unmarshal([]byte(m.Message.Data.(string)), &data); err != nil || m.Message.Encoding != "json" {
		t.Fatalf("data %v encoding %q: %v", m.Message.Data, m.Message.Encoding, err)
	}
	if data[FieldChannel] != "orders:42" || data["operationType"] != "insert" {
		t.Errorf("data %v", data)
	}

	// No name, no headers: none set.
	m, err = Map(changeEvent(t, 2, bson.E{Key: FieldChannel, Value: "c"}), EncodingRelaxed)
	if err != nil || m.Message.Name != "" || m.Message.Extras != nil || len(m.Warnings) != 0 {
		t.Errorf("bare event: %+v %v", m, err)
	}
	// _ablyChannel only inside fullDocument does not route.
	inDoc := changeEvent(t, 3, bson.E{Key: "fullDocument", Value: bson.D{{Key: FieldChannel, Value: "c"}}})
	if _, err := Map(inDoc, EncodingRelaxed); CodeOf(err) != CodeNoChannel {
		t.Errorf("channel under fullDocument: %v, want 72004", err)
	}
}

// TestMapNoChannel: a missing, non-string or empty _ablyChannel is 72004
// naming the message id.
func TestMapNoChannel(t *testing.T) {
	for _, root := range [][]bson.E{
		nil,
		{{Key: FieldChannel, Value: int32(7)}},
		{{Key: FieldChannel, Value: ""}},
	} {
		_, err := Map(changeEvent(t, 9, root...), EncodingRelaxed)
		if CodeOf(err) != CodeNoChannel || !strings.Contains(err.Error(), "no channel key in message "+MessageID(token(9))) {
			t.Errorf("%v: %v", root, err)
		}
	}
}

// TestMapExtendedJSON: ObjectId, dates, decimals, binary, integers and
// timestamps in relaxed (default) and canonical Extended JSON.
func TestMapExtendedJSON(t *testing.T) {
	oid, _ := bson.ObjectIDFromHex("65a1b2c3d4e5f60718293a4b")
	dec, _ := bson.ParseDecimal128("1234.5600")
	when := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	ev := changeEvent(t, 4, bson.E{Key: FieldChannel, Value: "x"}, bson.E{Key: "v", Value: bson.D{
		{Key: "oid", Value: oid},
		{Key: "at", Value: bson.NewDateTimeFromTime(when)},
		{Key: "price", Value: dec},
		{Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{1, 2, 3}}},
		{Key: "uuid", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}},
		{Key: "i32", Value: int32(5)},
		{Key: "i64", Value: int64(1) << 40},
		{Key: "f", Value: 2.5},
	}})
	for _, c := range []struct {
		enc  string
		want []string
	}{
		{EncodingRelaxed, []string{
			`"oid":{"$oid":"65a1b2c3d4e5f60718293a4b"}`,
			`"at":{"$date":"2024-05-06T07:08:09.123Z"}`,
			`"price":{"$numberDecimal":"1234.5600"}`,
			`"bin":{"$binary":{"base64":"AQID","subType":"00"}}`,
			`"uuid":{"$binary":{"base64":"AAAAAAAAAAAAAAAAAAAAAA==","subType":"04"}}`,
			`"i32":5`, `"i64":1099511627776`, `"f":2.5`,
			`"clusterTime":{"$timestamp":{"t":1700000004,"i":1}}`,
		}},
		{EncodingCanonical, []string{
			`"oid":{"$oid":"65a1b2c3d4e5f60718293a4b"}`,
			`"at":{"$date":{"$numberLong":"1714979289123"}}`,
			`"price":{"$numberDecimal":"1234.5600"}`,
			`"i32":{"$numberInt":"5"}`, `"i64":{"$numberLong":"1099511627776"}`, `"f":{"$numberDouble":"2.5"}`,
		}},
	} {
		m, err := Map(ev, c.enc)
		if err != nil {
			t.Fatal(err)
		}
		data := m.Message.Data.(string)
		if !json.Valid([]byte(data)) {
			t.Fatalf("%s: not JSON: %s", c.enc, data)
		}
		for _, w := range c.want {
			if !strings.Contains(data, w) {
				t.Errorf("%s: %s missing from %s", c.enc, w, data)
			}
		}
	}
}

// TestMessageIDDeterministic: the id depends only on the resume token, so
// a replayed event keeps its id; distinct tokens give distinct ids.
func TestMessageIDDeterministic(t *testing.T) {
	a := changeEvent(t, 1, bson.E{Key: FieldChannel, Value: "a"})
	b := changeEvent(t, 1, bson.E{Key: FieldChannel, Value: "b"}, bson.E{Key: "extra", Value: true})
	ma, _ := Map(a, EncodingRelaxed)
	mb, _ := Map(b, EncodingCanonical)
	if ma.Message.ID != mb.Message.ID || !strings.HasPrefix(ma.Message.ID, "mongo:") {
		t.Errorf("same token, ids %q and %q", ma.Message.ID, mb.Message.ID)
	}
	seen := map[string]int{}
	for i := 0; i < 1000; i++ {
		id := MessageID(token(i))
		if j, dup := seen[id]; dup {
			t.Fatalf("tokens %d and %d share id %s", i, j, id)
		}
		seen[id] = i
	}
	// Only _data counts: the same _data in a token with other fields.
	extra, _ := bson.Marshal(bson.D{{Key: "_data", Value: tokenData(token(3))}, {Key: "_typeBits", Value: bson.Binary{Data: []byte{1}}}})
	if MessageID(extra) != MessageID(token(3)) {
		t.Error("id changed with token fields other than _data")
	}
}

// TestParseDocument: test documents are JSON objects in relaxed Extended
// JSON; anything else is refused with an example.
func TestParseDocument(t *testing.T) {
	d, err := ParseDocument(`{"qty": 2, "at": {"$date": "2024-01-01T00:00:00Z"}, "id": {"$oid": "65a1b2c3d4e5f60718293a4b"}}`)
	if err != nil || len(d) != 3 {
		t.Fatalf("%v %v", d, err)
	}
	if _, ok := d[1].Value.(bson.DateTime); !ok {
		t.Errorf("$date read as %T", d[1].Value)
	}
	if d, err := ParseDocument(""); err != nil || len(d) != 0 {
		t.Errorf("empty: %v %v", d, err)
	}
	for _, bad := range []string{"[1]", `"x"`, "{", "3"} {
		if _, err := ParseDocument(bad); err == nil || !strings.Contains(err.Error(), "JSON object") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
