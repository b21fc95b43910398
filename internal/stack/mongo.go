package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
)

// ErrNoMongo is returned when neither mongo.url nor the sandbox names a
// MongoDB.
var ErrNoMongo = errors.New("no MongoDB: pass --mongo-url, set mongo.url (LIVESYNC_MONGO_URL), or run `livesync-dev sandbox up` where compose or mongod is available")

// MongoURL is the MongoDB of the Mongo connector: mongo.url (flag,
// environment or file), else the sandbox's; otherwise an error that says
// why there is none (the sandbox's reason when it has one).
func (s *Stack) MongoURL() (string, error) {
	if u := s.Config.Mongo.URL; u != "" {
		return u, nil
	}
	if s.Sandbox != nil {
		if s.Sandbox.Mongo.Available && s.Sandbox.Mongo.URL != "" {
			return s.Sandbox.Mongo.URL, nil
		}
		if s.Sandbox.Mongo.Reason != "" {
			return "", fmt.Errorf("the sandbox has no MongoDB: %s", s.Sandbox.Mongo.Reason)
		}
	}
	if s.damaged != nil {
		return "", s.damaged
	}
	return "", ErrNoMongo
}

// MongoOptions are the Mongo connector's options: livesync.yaml's mongo
// section, the connector's retry bounds and permanent codes, the endpoint,
// and where it serves and registers its state (connector.healthAddr, a
// free port when taken; the sandbox's node registry). The caller sets the
// source and token store (StartMongo sets the driver's).
func (s *Stack) MongoOptions(ep Endpoint) mongo.Options {
	m, c := s.Config.Mongo, s.Config.Connector
	return mongo.Options{
		Database: m.Database, Collection: m.Collection, Pipeline: m.Pipeline,
		FullDocument: m.FullDocument, FullDocumentBeforeChange: m.FullDocumentBeforeChange,
		DataEncoding: m.DataEncoding, CheckpointInterval: m.CheckpointInterval,
		RetryMin: c.Retry.Min, RetryMax: c.Retry.Max, PermanentCodes: append([]int(nil), c.PermanentCodes...),
		Ably: ep.Options, RealAbly: ep.Real, HealthAddr: c.HealthAddr, StateDir: s.StateDir(),
	}
}

// MongoParams start the Mongo connector.
type MongoParams struct {
	// Endpoint is where it publishes.
	Endpoint Endpoint
	// Events receives its events (optional).
	Events *connector.Bus
	// Logger receives its logs (optional).
	Logger *slog.Logger
	// DialTimeout bounds reaching MongoDB (default 10s).
	DialTimeout time.Duration
}

// Mongo is a running Mongo connector, its client and driver.
type Mongo struct {
	// URL is the MongoDB it watches (with its password).
	URL string
	// Client is the driver's client.
	Client *mongodrv.Client
	// Driver is the change-stream source and token store; it also writes
	// test documents.
	Driver *mongo.Driver
	// Connector is the running connector.
	Connector *mongo.Connector
}

// StartMongo connects to MongoURL and starts the Mongo connector with
// MongoOptions. A bad pipeline is a mongo.Error with code 72005.
func (s *Stack) StartMongo(ctx context.Context, p MongoParams) (*Mongo, error) {
	url, err := s.MongoURL()
	if err != nil {
		return nil, err
	}
	if p.DialTimeout <= 0 {
		p.DialTimeout = 10 * time.Second
	}
	o := s.MongoOptions(p.Endpoint)
	o.Events, o.Logger = p.Events, p.Logger
	if _, err := mongo.ParsePipeline(o.Pipeline); err != nil {
		return nil, err // before dialling: a bad pipeline needs no server
	}
	client, err := mongo.Dial(ctx, url, p.DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to MongoDB %s: %w", mongo.RedactURL(url), err)
	}
	drv := mongo.NewDriver(client, o.Database, o.Collection)
	o.Source, o.Tokens = drv, drv
	c, err := mongo.Start(ctx, o)
	if err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return &Mongo{URL: url, Client: client, Driver: drv, Connector: c}, nil
}

// Stop stops the connector (storing the resume token) and disconnects.
func (m *Mongo) Stop(ctx context.Context) error {
	err := m.Connector.Stop(ctx)
	_ = m.Client.Disconnect(ctx)
	return err
}
