package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FullDocument options of the rule.
const (
	// FullDocOff leaves the option unset (the server default).
	FullDocOff = "off"
	// FullDocUpdateLookup fetches the current majority-committed document.
	FullDocUpdateLookup = "updateLookup"
	// FullDocWhenAvailable uses the stored pre/post image when present.
	FullDocWhenAvailable = "whenAvailable"
)

// StreamParams open a change stream on the rule's collection.
type StreamParams struct {
	// Pipeline is the validated pipeline (see ParsePipeline).
	Pipeline bson.A
	// FullDocument is off, updateLookup or whenAvailable.
	FullDocument string
	// FullDocumentBeforeChange is off or whenAvailable.
	FullDocumentBeforeChange string
	// ResumeAfter is the stored resume token; nil starts from now.
	ResumeAfter bson.Raw
}

// Change is one result of Stream.StreamNext.
type Change struct {
	// Event is the change event after the pipeline; nil when the wait ended
	// without one (the stream is idle; Token may still have advanced).
	Event bson.Raw
	// Token is the resume token after Event (or the stream's latest
	// post-batch token when idle); nil when unknown.
	Token bson.Raw
}

// Source opens change streams: the seam between the connector and the
// driver's Collection.Watch.
type Source interface {
	// StreamOpen starts a change stream. A resume token the server no longer
	// has history for is reported as an error wrapping ErrHistoryLost.
	StreamOpen(ctx context.Context, p StreamParams) (Stream, error)
}

// Stream is an open change stream.
type Stream interface {
	// StreamNext waits (briefly) for the next event. An error ends the
	// stream; ErrHistoryLost (wrapped) when the history is gone.
	StreamNext(ctx context.Context) (Change, error)
	// StreamClose releases the server cursor.
	StreamClose(ctx context.Context) error
}

// TokenSaveParams store a rule's resume token.
type TokenSaveParams struct {
	// Rule identifies the rule (the _id of its document in "ably").
	Rule string
	// Token is the resume token.
	Token bson.Raw
	// At is when it was stored.
	At time.Time
}

// TokenStore keeps one resume token per rule: the seam to the "ably"
// collection.
type TokenStore interface {
	// TokenLoad returns the rule's stored token, nil when none is stored;
	// a document that is not a token is an error wrapping ErrTokenUnreadable.
	TokenLoad(ctx context.Context, rule string) (bson.Raw, error)
	// TokenSave upserts the rule's token.
	TokenSave(ctx context.Context, p TokenSaveParams) error
}
