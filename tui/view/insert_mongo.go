package view

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// FieldMongo is the insert form's checkbox that writes a MongoDB document
// instead of outbox rows (offered when the Mongo connector runs).
const FieldMongo = "MongoDB document"

// EnableMongo adds the MongoDB checkbox: when checked, Data is the
// document (a JSON object, relaxed Extended JSON), Count its copies, and
// onMongo receives them; the outbox-only fields are ignored (the rule's
// pipeline routes the change events).
func (f *InsertForm) EnableMongo(onMongo func(doc string, count int)) {
	f.onMongo = onMongo
	f.form.AddCheckbox(FieldMongo, false, func(c bool) { f.mongo = c; f.validate() })
}

// mongoParams validates the form as a MongoDB insert.
func (f *InsertForm) mongoParams() (string, int, error) {
	doc := strings.TrimSpace(f.input(FieldData).GetText())
	var errs []error
	if _, err := mongo.ParseDocument(doc); err != nil {
		errs = append(errs, errors.New("data: "+err.Error()))
	}
	n, err := strconv.Atoi(f.input(FieldCount).GetText())
	if err != nil || n < 1 || n > 100000 {
		errs = append(errs, errors.New("count: a number from 1 to 100000"))
	}
	return doc, n, errors.Join(errs...)
}

// mongoOffered reports whether the source runs the Mongo connector and
// can write documents.
func (a *App) mongoOffered() (model.MongoInserter, bool) {
	mi, ok := a.opts.Source.(model.MongoInserter)
	if !ok || !mi.MongoAvailable() {
		return nil, false
	}
	return mi, true
}

// insertMongo writes documents in the background and reports their _ids.
func (a *App) insertMongo(mi model.MongoInserter, doc string, count int) {
	a.env.async(func() {
		ids, err := mi.MongoInsert(context.Background(), doc, count)
		a.env.post(func() {
			if err != nil {
				a.setFlash("mongo insert failed: "+err.Error(), true)
				return
			}
			msg := "inserted " + plural(len(ids), "document")
			if len(ids) > 0 {
				msg += ": " + ids[0]
			}
			a.setFlash(msg, false)
		})
	})
}
