package mongo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/livesync-dev/livesync-dev/connector"
)

// Options configure the Mongo connector. Zero fields take the defaults
// listed (the values of livesync.yaml's mongo section).
type Options struct {
	// Rule identifies the rule: the _id of its token document in "ably"
	// (default: the collection name).
	Rule string
	// Database and Collection are the watched namespace (required; used for
	// messages and the state).
	Database, Collection string
	// Pipeline is the rule's pipeline, a JSON array as a string ("" = none).
	Pipeline string
	// FullDocument is off (default), updateLookup or whenAvailable.
	FullDocument string
	// FullDocumentBeforeChange is off (default) or whenAvailable.
	FullDocumentBeforeChange string
	// DataEncoding is relaxed (default) or canonical Extended JSON.
	DataEncoding string
	// CheckpointInterval is how often the resume token is stored (1s).
	CheckpointInterval time.Duration
	// RetryMin and RetryMax bound the backoff of publish retries and stream
	// reopening (100ms, 30s); a stuck stream is retried every RetryMax.
	RetryMin, RetryMax time.Duration
	// PermanentCodes are Ably error codes on which an event is skipped
	// (72001) instead of retried (40009, 40010, 40160).
	PermanentCodes []int

	// Source opens change streams and Tokens stores resume tokens
	// (required; Driver implements both).
	Source Source
	Tokens TokenStore
	// Ably are the ably-go options of the endpoint (required).
	Ably []ably.ClientOption
	// RealAbly paces publishing to Ably's 50 msg/s limits.
	RealAbly bool
	// Events receives the connector's events (optional).
	Events *connector.Bus
	// HealthAddr is where /health and connector.StatePath are served (a
	// free port when it is taken); "" serves none.
	HealthAddr string
	// StateDir is the sandbox's .livesync folder, where the connector
	// registers its health address for monitors in other processes ("" =
	// not registered).
	StateDir string
	// Logger receives logs (default: discarded).
	Logger *slog.Logger

	// ticker makes the checkpoint ticks (tests replace it).
	ticker func(time.Duration) (<-chan time.Time, func())
}

// Validate fills in defaults and checks every field (the pipeline too:
// errors with code 72005).
func (o Options) Validate() (Options, error) {
	if o.Database == "" || o.Collection == "" {
		return o, errors.New("mongo connector: database and collection are required")
	}
	if o.Source == nil || o.Tokens == nil {
		return o, errors.New("mongo connector: Source and Tokens are required")
	}
	if o.Rule == "" {
		o.Rule = o.Collection
	}
	if o.FullDocument == "" {
		o.FullDocument = FullDocOff
	}
	if o.FullDocumentBeforeChange == "" {
		o.FullDocumentBeforeChange = FullDocOff
	}
	if o.DataEncoding == "" {
		o.DataEncoding = EncodingRelaxed
	}
	switch o.FullDocument {
	case FullDocOff, FullDocUpdateLookup, FullDocWhenAvailable:
	default:
		return o, fmt.Errorf("mongo connector: fullDocument %q: use off, updateLookup or whenAvailable", o.FullDocument)
	}
	switch o.FullDocumentBeforeChange {
	case FullDocOff, FullDocWhenAvailable:
	default:
		return o, fmt.Errorf("mongo connector: fullDocumentBeforeChange %q: use off or whenAvailable", o.FullDocumentBeforeChange)
	}
	if o.DataEncoding != EncodingRelaxed && o.DataEncoding != EncodingCanonical {
		return o, fmt.Errorf("mongo connector: dataEncoding %q: use relaxed or canonical", o.DataEncoding)
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = time.Second
	}
	if o.RetryMin == 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.CheckpointInterval < 0 || o.RetryMin < 0 || o.RetryMax < o.RetryMin {
		return o, errors.New("mongo connector: checkpoint interval and retry bounds must be positive, retry min ≤ max")
	}
	if o.PermanentCodes == nil {
		o.PermanentCodes = []int{40009, 40010, 40160}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Events == nil {
		o.Events = &connector.Bus{}
	}
	if o.ticker == nil {
		o.ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	if _, err := ParsePipeline(o.Pipeline); err != nil {
		return o, err
	}
	return o, nil
}

// mongoPassword matches the password of a mongodb:// URL.
var mongoPassword = regexp.MustCompile(`^(mongodb(?:\+srv)?://[^:/@]*:)[^@]*@`)

// RedactURL hides a MongoDB URL's password, for messages and logs.
func RedactURL(url string) string { return mongoPassword.ReplaceAllString(url, "${1}xxxxx@") }
