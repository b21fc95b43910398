package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// mongoInsertFlags are insert's MongoDB-only flags.
type mongoInsertFlags struct {
	url    string
	update string
	delete string
}

func (m *mongoInsertFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&m.url, "mongo-url", "", "with --mongo: the replica set (default: mongo.url, else the sandbox's)")
	fl.StringVar(&m.update, "update", "", "with --mongo: $set the --data fields on the document with this _id (ObjectId hex or string)")
	fl.StringVar(&m.delete, "delete", "", "with --mongo: delete the document with this _id (ObjectId hex or string)")
}

// runInsertMongo inserts --count documents (--data, a JSON object in
// relaxed Extended JSON; default {}), or updates/deletes one by _id, in
// mongo.database.mongo.collection. The rule's pipeline routes the change
// events, so --channel, --name and the outbox-only flags do not apply.
func runInsertMongo(cmd *cobra.Command, m mongoInsertFlags, f monitorFlags, data string, count int) error {
	for _, name := range []string{"channel", "name", "headers", "mutation-id", "rejected", "pg-url"} {
		if cmd.Flags().Changed(name) {
			return usageError("--%s does not apply with --mongo: the rule's pipeline sets _ablyChannel/_ablyMsgName from the change event (mongo.pipeline)", name)
		}
	}
	if m.update != "" && m.delete != "" {
		return usageError("use one of --update and --delete")
	}
	if count < 1 || count > 100000 {
		return usageError("--count %d is out of range: use 1-100000", count)
	}
	if (m.update != "" || m.delete != "") && cmd.Flags().Changed("count") {
		return usageError("--count applies to inserts only")
	}
	var text string
	if cmd.Flags().Changed("data") {
		b, err := readData(data)
		if err != nil {
			return usageError("%v", err)
		}
		text = string(b)
	} else if m.update != "" {
		return usageError("--update needs --data with the fields to set")
	}
	doc, err := mongo.ParseDocument(text)
	if err != nil {
		return usageError("--data: %v", err)
	}
	if f.readonly {
		return &ExitError{Code: 1, Err: monitor.ErrReadOnly}
	}
	overrides := map[string]string{}
	changed(cmd, overrides, "mongo-url", "mongo.url")
	stk, err := loadStack(cmd, overrides)
	if err != nil {
		return err
	}
	cfg := stk.Config
	url, err := stk.MongoURL()
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
	defer cancel()
	client, err := mongo.Dial(ctx, url, 10*time.Second)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("connecting to MongoDB %s: %w", redactMongo(url), err)}
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	coll := client.Database(cfg.Mongo.Database).Collection(cfg.Mongo.Collection)
	ns := cfg.Mongo.Database + "." + cfg.Mongo.Collection
	out := cmd.OutOrStdout()
	switch {
	case m.update != "" || m.delete != "":
		id := m.update + m.delete
		filter := bson.D{{Key: "_id", Value: docID(id)}}
		var n int64
		verb := "updated"
		if m.update != "" {
			r, err := coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: doc}})
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			n = r.MatchedCount
		} else {
			verb = "deleted"
			r, err := coll.DeleteOne(ctx, filter)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			n = r.DeletedCount
		}
		if n == 0 {
			return &ExitError{Code: 1, Err: fmt.Errorf("no document with _id %s in %s", id, ns)}
		}
		if f.jsonOut {
			return writeJSON(out, map[string]any{verb: n})
		}
		fmt.Fprintf(out, "%s document %s in %s\n", verb, id, ns)
		return nil
	default:
		ids, err := mongo.NewDriver(client, cfg.Mongo.Database, cfg.Mongo.Collection).DocumentInsert(ctx, mongo.DocumentInsertParams{JSON: text, Count: count})
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		if f.jsonOut {
			return writeJSON(out, map[string][]string{"ids": ids})
		}
		shown := ids
		if len(shown) > 10 {
			shown = append(shown[:10:10], "…")
		}
		fmt.Fprintf(out, "inserted %d document(s) into %s: %s\n", len(ids), ns, strings.Join(shown, " "))
		return nil
	}
}

// docID reads an _id: 24 hex digits are an ObjectId, else a string.
func docID(s string) any {
	if oid, err := bson.ObjectIDFromHex(s); err == nil {
		return oid
	}
	return s
}
