package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// DocumentInsertParams insert test documents into the watched collection.
type DocumentInsertParams struct {
	// JSON is one document as a JSON object in relaxed Extended JSON
	// ("" = {}); each copy gets its own _id unless it sets one.
	JSON string
	// Count is how many copies (1..100000).
	Count int
}

// ParseDocument reads a JSON object in relaxed Extended JSON ("" = {}),
// saying what is wrong otherwise.
func ParseDocument(text string) (bson.D, error) {
	doc := bson.D{}
	if text == "" {
		return doc, nil
	}
	if err := bson.UnmarshalExtJSON([]byte(text), false, &doc); err != nil {
		return nil, fmt.Errorf(`the document must be a JSON object (relaxed Extended JSON, e.g. {"qty": 2, "at": {"$date": "2024-01-01T00:00:00Z"}}): %v`, err)
	}
	return doc, nil
}

// DocumentInsert inserts p.Count copies of the document as an application
// would, and returns their _ids (ObjectIds as hex).
func (d *Driver) DocumentInsert(ctx context.Context, p DocumentInsertParams) ([]string, error) {
	doc, err := ParseDocument(p.JSON)
	if err != nil {
		return nil, err
	}
	if p.Count < 1 || p.Count > 100000 {
		return nil, fmt.Errorf("count %d is out of range: use 1-100000", p.Count)
	}
	docs := make([]any, p.Count)
	for i := range docs {
		docs[i] = doc
	}
	r, err := d.coll.InsertMany(ctx, docs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(r.InsertedIDs))
	for i, id := range r.InsertedIDs {
		if oid, ok := id.(bson.ObjectID); ok {
			ids[i] = oid.Hex()
		} else {
			ids[i] = fmt.Sprint(id)
		}
	}
	return ids, nil
}
