package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/internal/stack"
)

// runMongoConnector runs the MongoDB connector headless until Ctrl-C,
// built by the stack like every connector: it serves its
// connector.NodeState at connector.StatePath on --health-addr and
// registers in the sandbox, so `status` and the dashboard see it.
func runMongoConnector(cmd *cobra.Command, f connectorRunFlags) error {
	overrides := map[string]string{}
	changed(cmd, overrides, "mongo-url", "mongo.url")
	changed(cmd, overrides, "health-addr", "connector.healthAddr")
	stk, err := loadStack(cmd, overrides)
	if err != nil {
		return err
	}
	if _, err := stk.MongoURL(); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ep, err := stk.Endpoint(stack.EndpointParams{Host: f.ablyHost, Port: f.ablyPort, TLS: f.ablyTLS, Key: f.ablyKey})
	if err != nil {
		return stackError(err)
	}
	stderr := cmd.ErrOrStderr()
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bus := &connector.Bus{}
	events, unsub := bus.Subscribe(4096)
	defer unsub()
	m, err := stk.StartMongo(ctx, stack.MongoParams{Endpoint: ep, Events: bus,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		if mongo.CodeOf(err) == mongo.CodePipeline {
			return usageError("mongo.pipeline: %v", err)
		}
		return &ExitError{Code: 1, Err: err}
	}
	cfg := stk.Config.Mongo
	fmt.Fprintf(stderr, "connector: mongo %s.%s on %s, state at http://%s%s; Ctrl-C stops gracefully\n",
		cfg.Database, cfg.Collection, mongo.RedactURL(m.URL), m.Connector.HealthAddr(), connector.StatePath)
	printMongoStatus(ctx, stderr, events, m.Connector)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := m.Stop(sctx); err != nil {
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
			s := c.State().Mongo
			if s.Published == last && s.LastError == nil {
				continue
			}
			fmt.Fprintf(w, "connector: mongo %s, published %d (%.0f/s), skipped %d (72004), token age %.0fs\n",
				s.Stream, s.Published, s.EventsPerSecond, s.SkippedNoChannel, s.TokenAgeSeconds)
			if s.Action != "" {
				fmt.Fprintf(w, "connector: → %s\n", s.Action)
			}
			last = s.Published
		}
	}
}
