package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/ablyrules"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/sandbox"
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
			if key == "" {
				key = os.Getenv("ABLY_API_KEY")
			}
			opts, err := tailClientOptions(key)
			if err != nil {
				return err
			}
			// ably-go's own lines go to stderr through slog, redacted.
			// The SDK logs from its own goroutines, also while closing: stop
			// them writing once the command returns.
			sdkOut := &closingWriter{w: cmd.ErrOrStderr()}
			defer sdkOut.close()
			sdkLog := slog.New(slog.NewTextHandler(sdkOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
			opts = append(ablylog.ClientOptions(sdkLog), opts...)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			t, err := monitor.StartTail(actx, monitor.TailOptions{ClientOptions: opts, Channels: args, Rewind: rewind})
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

// tailClientOptions picks the endpoint: the sandbox's local endpoint, or
// real Ably when a key is given and no local endpoint is recorded.
func tailClientOptions(key string) ([]ably.ClientOption, error) {
	var a *sandbox.AblyState
	if st, err := sandbox.LoadFrom("."); err == nil {
		a = st.Ably
	}
	if a == nil || !a.Local {
		if key == "" {
			return nil, errors.New("no Ably endpoint recorded: run `livesync-dev sandbox up` (or `livesync-dev up`) for the local endpoint, or pass --ably-key / set ABLY_API_KEY for real Ably")
		}
		return []ably.ClientOption{ably.WithKey(key)}, nil
	}
	return ablyClientOptions(a, key), nil
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
