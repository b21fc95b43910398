package cli

import (
	"context"
	"fmt"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"io"
	"log/slog"
	"time"

	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// mongoRunner is the Mongo connector `up` runs beside the Postgres nodes.
type mongoRunner struct {
	client *mongodrv.Client
	conn   *mongo.Connector
	drv    *mongo.Driver
}

// mongoOptions maps livesync.yaml's mongo section (and the connector's
// retry and permanent codes) onto the Mongo connector's options; the
// caller sets the source, token store, endpoint and event bus.
func mongoOptions(cfg *config.Config) mongo.Options {
	m := cfg.Mongo
	return mongo.Options{
		Database: m.Database, Collection: m.Collection, Pipeline: m.Pipeline,
		FullDocument: m.FullDocument, FullDocumentBeforeChange: m.FullDocumentBeforeChange,
		DataEncoding: m.DataEncoding, CheckpointInterval: m.CheckpointInterval,
		RetryMin: cfg.Connector.Retry.Min, RetryMax: cfg.Connector.Retry.Max,
		PermanentCodes: append([]int(nil), cfg.Connector.PermanentCodes...),
	}
}

// startMongoBeside starts the Mongo connector when the sandbox has MongoDB
// (mongo.url counts too). MongoDB is optional: failing to start it is a
// warning on progress, never an error of `up`.
func startMongoBeside(ctx context.Context, st *sandbox.State, cfg *config.Config, bus *connector.Bus, logger *slog.Logger, progress io.Writer) *mongoRunner {
	url := cfg.Mongo.URL
	if url == "" && st.Mongo.Available {
		url = st.Mongo.URL
	}
	if url == "" || st.Ably == nil {
		if st.Mongo.Reason != "" {
			fmt.Fprintf(progress, "mongo connector: not started: %s\n", st.Mongo.Reason)
		}
		return nil
	}
	client, err := mongo.Dial(ctx, url, 10*time.Second)
	if err != nil {
		fmt.Fprintf(progress, "mongo connector: not started: %v\n", err)
		return nil
	}
	drv := mongo.NewDriver(client, cfg.Mongo.Database, cfg.Mongo.Collection)
	o := mongoOptions(cfg)
	o.Source, o.Tokens, o.Events, o.Logger = drv, drv, bus, logger
	o.Ably, o.RealAbly = stack.ClientOptions(st.Ably, cfg.Ably.Key), !st.Ably.Local
	c, err := mongo.Start(ctx, o)
	if err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		fmt.Fprintf(progress, "mongo connector: not started: %v\n", err)
		return nil
	}
	fmt.Fprintf(progress, "mongo connector: watching %s.%s\n", cfg.Mongo.Database, cfg.Mongo.Collection)
	return &mongoRunner{client: client, conn: c, drv: drv}
}

// connector is the running connector, nil when none.
func (m *mongoRunner) connector() *mongo.Connector {
	if m == nil {
		return nil
	}
	return m.conn
}

// docs writes test documents (the dashboard's insert form); nil when none.
func (m *mongoRunner) docs() *mongo.Driver {
	if m == nil {
		return nil
	}
	return m.drv
}

// stop stores the resume token and disconnects.
func (m *mongoRunner) stop(out io.Writer) {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.conn.Stop(ctx); err != nil {
		fmt.Fprintf(out, "stopping the mongo connector: %v\n", err)
	}
	_ = m.client.Disconnect(ctx)
}
