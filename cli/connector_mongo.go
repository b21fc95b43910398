package cli

import (
	"context"
	"fmt"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// mongoURL resolves the MongoDB URL: the flag, mongo.url, else the
// sandbox's (or the reason it has none).
func mongoURL(flag string, cfg *config.Config) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if cfg.Mongo.URL != "" {
		return cfg.Mongo.URL, nil
	}
	st, err := sandbox.LoadFrom(".")
	if err != nil {
		return "", fmt.Errorf("no MongoDB: pass --mongo-url, set mongo.url, or run `livesync-dev sandbox up` (%v)", err)
	}
	if !st.Mongo.Available {
		return "", fmt.Errorf("the sandbox has no MongoDB: %s", st.Mongo.Reason)
	}
	return st.Mongo.URL, nil
}

// runMongoConnector runs the MongoDB connector headless until Ctrl-C.
func runMongoConnector(cmd *cobra.Command, f connectorRunFlags) error {
	overrides := map[string]string{}
	changed(cmd, overrides, "mongo-url", "mongo.url")
	stk, err := loadStack(cmd, overrides)
	if err != nil {
		return err
	}
	cfg := stk.Config
	url, err := mongoURL(f.mongoURL, cfg)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ep, err := stk.Endpoint(stack.EndpointParams{Host: f.ablyHost, Port: f.ablyPort, TLS: f.ablyTLS, Key: f.ablyKey})
	if err != nil {
		return stackError(err)
	}
	ablyOpts, real := ep.Options, ep.Real
	stderr := cmd.ErrOrStderr()
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := mongo.Dial(ctx, url, 10*time.Second)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("connecting to MongoDB %s: %w", redactMongo(url), err)}
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	m := cfg.Mongo
	drv := mongo.NewDriver(client, m.Database, m.Collection)
	bus := &connector.Bus{}
	opts := mongoOptions(cfg)
	opts.Source, opts.Tokens, opts.Ably, opts.RealAbly, opts.Events = drv, drv, ablyOpts, real, bus
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	events, unsub := bus.Subscribe(4096)
	defer unsub()
	c, err := mongo.Start(ctx, opts)
	if err != nil {
		if mongo.CodeOf(err) == mongo.CodePipeline {
			return usageError("mongo.pipeline: %v", err)
		}
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintf(stderr, "connector: mongo %s.%s on %s; Ctrl-C stops gracefully\n", m.Database, m.Collection, redactMongo(url))
	printMongoStatus(ctx, stderr, events, c)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.Stop(sctx); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintln(stderr, "connector: stopped; resume token stored")
	return nil
}

// printMongoStatus prints errors and state changes at once, and a summary
// every 5 seconds while events move, until ctx ends.
func printMongoStatus(ctx context.Context, w io.Writer, events <-chan connector.Event, c *mongo.Connector) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			if e.Kind == connector.EventInfo || (e.Kind == connector.EventFailed && e.Code >= mongo.CodeInternal) {
				fmt.Fprintf(w, "connector: %s\n", e.Message)
			}
		case <-t.C:
			s := c.State()
			if s.Published == last && s.LastErrorCode == 0 {
				continue
			}
			fmt.Fprintf(w, "connector: mongo %s, published %d (%.0f/s), skipped %d (72004), token age %.0fs\n",
				s.Stream, s.Published, s.EventsPerSecond, s.SkippedNoChannel, s.TokenAgeSeconds)
			last = s.Published
		}
	}
}
