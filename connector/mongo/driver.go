package mongo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TokenCollection is the collection of the rule's database that holds one
// resume-token document per rule.
const TokenCollection = "ably"

// Server error codes the driver reports for lost change-stream history.
const (
	serverHistoryLost  = 286 // ChangeStreamHistoryLost
	serverFatalError   = 280 // ChangeStreamFatalError
	serverOplogMissing = 136 // CappedPositionLost (older servers)
)

// maxAwait bounds each wait of StreamNext on the server, so idle streams
// still advance their post-batch token and notice Stop.
const maxAwait = 500 * time.Millisecond

// Dial connects to url with bounded timeouts (serverSelection, connect) so
// an unreachable server fails within timeout instead of hanging; it pings
// the primary before returning.
func Dial(ctx context.Context, url string, timeout time.Duration) (*mongo.Client, error) {
	o := options.Client().ApplyURI(url).SetServerSelectionTimeout(timeout).SetConnectTimeout(timeout).SetAppName("livesync-dev")
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("mongo URL: %w", err)
	}
	if err := probeHosts(ctx, o.Hosts, min(3*time.Second, timeout)); err != nil {
		return nil, err
	}
	client, err := mongo.Connect(o)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return client, nil
}

// probeHosts fails at once, naming the hosts, when no host of a
// mongodb:// URL accepts a TCP connection (the driver would retry until
// its server selection timeout). SRV URLs (no host list) are not probed.
func probeHosts(ctx context.Context, hosts []string, timeout time.Duration) error {
	if len(hosts) == 0 {
		return nil
	}
	d := net.Dialer{Timeout: timeout}
	var errs []string
	for _, h := range hosts {
		c, err := d.DialContext(ctx, "tcp", h)
		if err == nil {
			c.Close()
			return nil
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err
		}
		errs = append(errs, h+": "+err.Error())
	}
	return fmt.Errorf("cannot reach MongoDB at %s", strings.Join(errs, "; "))
}

// Driver is the driver-backed Source and TokenStore of one rule: change
// streams on database.collection, tokens in database.ably.
type Driver struct {
	coll   *mongo.Collection
	tokens *mongo.Collection
}

// NewDriver uses client for database.collection.
func NewDriver(client *mongo.Client, database, collection string) *Driver {
	db := client.Database(database)
	return &Driver{coll: db.Collection(collection), tokens: db.Collection(TokenCollection)}
}

// ChangeStreamOptions maps the rule's options onto the driver's: "off"
// leaves an option unset (the server default; the server does not accept
// fullDocument "off").
func ChangeStreamOptions(p StreamParams) *options.ChangeStreamOptionsBuilder {
	o := options.ChangeStream().SetMaxAwaitTime(maxAwait)
	switch p.FullDocument {
	case FullDocUpdateLookup:
		o.SetFullDocument(options.UpdateLookup)
	case FullDocWhenAvailable:
		o.SetFullDocument(options.WhenAvailable)
	}
	if p.FullDocumentBeforeChange == FullDocWhenAvailable {
		o.SetFullDocumentBeforeChange(options.WhenAvailable)
	}
	if p.ResumeAfter != nil {
		o.SetResumeAfter(p.ResumeAfter)
	}
	return o
}

// StreamOpen implements Source with Collection.Watch.
func (d *Driver) StreamOpen(ctx context.Context, p StreamParams) (Stream, error) {
	pipeline := p.Pipeline
	if pipeline == nil {
		pipeline = bson.A{}
	}
	cs, err := d.coll.Watch(ctx, pipeline, ChangeStreamOptions(p))
	if err != nil {
		return nil, driverError(err)
	}
	return &driverStream{cs: cs}, nil
}

// driverError marks lost history as ErrHistoryLost.
func driverError(err error) error {
	var se mongo.ServerError
	if errors.As(err, &se) && (se.HasErrorCode(serverHistoryLost) || se.HasErrorCode(serverFatalError) || se.HasErrorCode(serverOplogMissing)) {
		return fmt.Errorf("%w: %v", ErrHistoryLost, err)
	}
	return err
}

type driverStream struct{ cs *mongo.ChangeStream }

// StreamNext implements Stream with TryNext (one getMore of at most
// maxAwait), so an idle stream reports its advancing post-batch token.
func (s *driverStream) StreamNext(ctx context.Context) (Change, error) {
	if s.cs.TryNext(ctx) {
		return Change{Event: cloneRaw(s.cs.Current), Token: cloneRaw(s.cs.ResumeToken())}, nil
	}
	if err := s.cs.Err(); err != nil {
		return Change{}, driverError(err)
	}
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	return Change{Token: cloneRaw(s.cs.ResumeToken())}, nil
}

// StreamClose implements Stream.
func (s *driverStream) StreamClose(ctx context.Context) error { return s.cs.Close(ctx) }

func cloneRaw(r bson.Raw) bson.Raw {
	if r == nil {
		return nil
	}
	return append(bson.Raw(nil), r...)
}

// tokenDoc is the rule's document in the "ably" collection.
type tokenDoc struct {
	ID          string        `bson:"_id"`
	ResumeToken bson.RawValue `bson:"resumeToken"`
	UpdatedAt   time.Time     `bson:"updatedAt"`
}

// TokenLoad implements TokenStore.
func (d *Driver) TokenLoad(ctx context.Context, rule string) (bson.Raw, error) {
	raw, err := d.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: rule}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return TokenFromDocument(raw)
}

// TokenFromDocument reads the token of a rule's document: its resumeToken
// field must be a document (the change event _id); anything else wraps
// ErrTokenUnreadable.
func TokenFromDocument(raw bson.Raw) (bson.Raw, error) {
	v, err := raw.LookupErr("resumeToken")
	if err != nil {
		return nil, fmt.Errorf("%w: the document has no resumeToken field", ErrTokenUnreadable)
	}
	doc, ok := v.DocumentOK()
	if !ok {
		return nil, fmt.Errorf("%w: resumeToken is a %s, not a document", ErrTokenUnreadable, v.Type)
	}
	if err := doc.Validate(); err != nil || len(doc) <= 5 {
		return nil, fmt.Errorf("%w: resumeToken is empty or corrupt", ErrTokenUnreadable)
	}
	return cloneRaw(doc), nil
}

// TokenSave implements TokenStore (an upsert of the rule's document).
func (d *Driver) TokenSave(ctx context.Context, p TokenSaveParams) error {
	_, err := d.tokens.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.Rule}},
		tokenDoc{ID: p.Rule, ResumeToken: bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: p.Token}, UpdatedAt: p.At.UTC()},
		options.Replace().SetUpsert(true))
	return err
}
