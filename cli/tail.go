package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/ablyrules"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
)

func init() { commands = append(commands, newTailCommand) }

// tailLine is one --json line.
type tailLine struct {
	Channel      string         `json:"channel"`
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Data         any            `json:"data"`
	Headers      map[string]any `json:"headers"`
	Timestamp    int64          `json:"timestamp"`
	ConnectionID string         `json:"connectionId"`
}

func newTailCommand() *cobra.Command {
	var jsonOut bool
	var key, rewind string
	cmd := &cobra.Command{
		Use:   "tail CHANNEL...",
		Short: "Subscribe to channels and print each message as it arrives",
		Long: "Subscribe to the channels on the sandbox's Ably endpoint (or real Ably with --ably-key or\n" +
			"ABLY_API_KEY) and print every message until interrupted. With --json each message is one JSON\n" +
			"object per line on stdout (channel, id, name, data, headers, timestamp in ms, connectionId);\n" +
			"an \"attached\" line goes to stderr once every channel is subscribed.",
		Example: "  livesync-dev tail orders\n  livesync-dev tail orders invoices --json --rewind 10",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, ch := range args {
				if err := ablyrules.Channel(ch); err != nil {
					return usageError("%v; %s", err, ablyrules.ChannelRules)
				}
			}
			overrides := map[string]string{}
			changed(cmd, overrides, "ably-key", "ably.key")
			st, err := loadStack(cmd, overrides)
			if err != nil {
				return err
			}
			ep, err := st.Endpoint(stack.EndpointParams{Key: key})
			if err != nil {
				return stackError(err)
			}
			// ably-go's own lines go to stderr through slog, redacted.
			// The SDK logs from its own goroutines, also while closing: stop
			// them writing once the command returns.
			sdkOut := &closingWriter{w: cmd.ErrOrStderr()}
			defer sdkOut.close()
			sdkLog := slog.New(slog.NewTextHandler(sdkOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			t, err := st.StartTail(actx, ep, stack.TailParams{Channels: args, Rewind: rewind, Logger: sdkLog})
			if err != nil {
				return fmt.Errorf("subscribing: %w", err)
			}
			defer t.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "attached: %s\n", strings.Join(args, ", "))
			return printTail(ctx, cmd.OutOrStdout(), t, jsonOut)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON object per message per line")
	cmd.Flags().StringVar(&key, "ably-key", "", "API key for real Ably (default: $ABLY_API_KEY; the sandbox's key for the local endpoint)")
	cmd.Flags().StringVar(&rewind, "rewind", "", "also deliver recent messages on attach: a count (\"10\") or a span (\"2m\")")
	return cmd
}

// printTail prints messages until ctx ends.
func printTail(ctx context.Context, w io.Writer, t *monitor.Tail, jsonOut bool) error {
	enc := json.NewEncoder(w)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-t.Messages():
			var err error
			if jsonOut {
				err = enc.Encode(tailLine{Channel: m.Channel, ID: m.ID, Name: m.Name, Data: m.Data, Headers: m.Headers,
					Timestamp: m.Timestamp, ConnectionID: m.ConnectionID})
			} else {
				data, _ := json.Marshal(m.Data)
				hdr, _ := json.Marshal(m.Headers)
				_, err = fmt.Fprintf(w, "%s %s %s id=%s data=%s headers=%s\n",
					time.UnixMilli(m.Timestamp).UTC().Format("15:04:05.000Z"), m.Channel, m.Name, m.ID, data, hdr)
			}
			if err != nil {
				return err
			}
		}
	}
}

// closingWriter serialises writes and drops them after close.
type closingWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

// Write implements io.Writer.
func (c *closingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return len(p), nil
	}
	return c.w.Write(p)
}

func (c *closingWriter) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}
