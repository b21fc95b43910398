package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/ablylocal/auth"
)

func init() { commands = append(commands, newAblyCommand) }

// newAblyCommand builds `ably` and its `serve` subcommand.
func newAblyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ably",
		Short: "Local Ably-compatible endpoint",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAblyServeCommand())
	return cmd
}

// newAblyServeCommand builds `ably serve`.
func newAblyServeCommand() *cobra.Command {
	var addr, limits, keyFile, sandboxDir string
	var keys []string
	var maxIdle time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a local Ably-compatible endpoint (REST + realtime WebSocket) until interrupted",
		Long: "Serve a local Ably-compatible endpoint on one port: the realtime WebSocket at / and the REST API\n" +
			"beside it. Unmodified ably-js and ably-go clients connect with host, port and TLS overrides.\n" +
			"Without --key, one all-access key is generated. Messages and history live in memory.\n" +
			"Settings come from the ably.local section of livesync.yaml; the flags override them.",
		Example: "  livesync-dev ably serve\n" +
			"  livesync-dev ably serve --addr 127.0.0.1:8081 --key 'app.key:secret'\n" +
			"  livesync-dev ably serve --key 'app.ro:secret={\"*\":[\"subscribe\",\"history\"]}' --limits ably",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxIdle < 0 || (maxIdle > 0 && maxIdle < 100*time.Millisecond) {
				return usageError("--max-idle-interval %s is too short: use at least 100ms (or leave it out for 15s)", maxIdle)
			}
			if limits != "" && limits != "ably" {
				return usageError("--limits %q is not known: use --limits ably (50 msg/s per channel and per connection) or leave it out", limits)
			}
			overrides := map[string]string{}
			changed(cmd, overrides, "addr", "ably.local.addr")
			changed(cmd, overrides, "limits", "ably.local.limits")
			changed(cmd, overrides, "max-idle-interval", "ably.local.maxIdleInterval")
			endpointGC.apply()
			st, err := loadStack(cmd, overrides)
			if err != nil {
				return err
			}
			opts := st.LocalAblyOptions()
			if keyFile != "" {
				fromFile, err := readKeyFile(keyFile)
				if err != nil {
					return usageError("%v", err)
				}
				keys = append(keys, fromFile...)
			}
			for _, k := range keys {
				key, err := auth.ParseKeySpec(k)
				if err != nil {
					return usageError("--key %q: %v (use APPID.KEYID:SECRET or APPID.KEYID:SECRET={\"channel\":[\"ops\"]})", redactKey(k), err)
				}
				opts.Keys = append(opts.Keys, key)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := ablylocal.Start(ctx, opts)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			printConnectInfo(cmd.OutOrStdout(), srv, keyFile == "")
			<-ctx.Done()
			fmt.Fprintln(cmd.OutOrStdout(), "stopping: sending DISCONNECTED to connected clients")
			if err := srv.Close(); err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("shutting down the local Ably endpoint: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address HOST:PORT (port 0 picks a free port); default ably.local.addr")
	cmd.Flags().StringArrayVar(&keys, "key", nil, "API key KEYNAME:SECRET[=CAPABILITY_JSON]; repeatable (default: one generated all-access key)")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "read API keys (one KEYNAME:SECRET[=CAPABILITY_JSON] per line) from FILE, mode 0600, or an inherited descriptor such as /dev/fd/3; keeps the secret out of `ps` and out of the output")
	cmd.Flags().StringVar(&sandboxDir, "sandbox", "", "the project folder whose sandbox started this endpoint (lets `sandbox down` find it)")
	_ = cmd.Flags().MarkHidden("sandbox")
	cmd.Flags().StringVar(&limits, "limits", "", "emulate Ably rate limits: \"ably\" = 50 msg/s per channel (42913) and per connection (42911)")
	// Hidden: for tests that need heartbeats sooner than the 15s Ably uses.
	cmd.Flags().DurationVar(&maxIdle, "max-idle-interval", 0, "maxIdleInterval advertised in CONNECTED; a HEARTBEAT is sent after 2/3 of it without other frames (default 15s)")
	_ = cmd.Flags().MarkHidden("max-idle-interval")
	return cmd
}

// readKeyFile reads key specs, one per line (blank lines and # comments
// skipped), refusing a regular file other users can read.
func readKeyFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("--key-file %s is readable by other users (mode %#o): run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("--key-file %s: %w", path, err)
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("--key-file %s holds no key: write one KEYNAME:SECRET per line", path)
	}
	return keys, nil
}

// printConnectInfo prints the address, keys and client options; without
// showSecrets (keys from --key-file, output to a log) secrets are elided.
func printConnectInfo(w io.Writer, srv *ablylocal.Server, showSecrets bool) {
	host := srv.Host()
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	port := srv.Port()
	fmt.Fprintf(w, "Local Ably endpoint listening on %s (REST and realtime WebSocket on one port)\n", srv.Addr())
	show := func(k string) string {
		if showSecrets {
			return k
		}
		return redactKey(k)
	}
	for i, k := range srv.Keys() {
		fmt.Fprintf(w, "key %d: %s  capability %s\n", i+1, show(k.String()), k.Capability.String())
	}
	key := show(srv.Keys()[0].String())
	fmt.Fprintf(w, "\nably-js:\n  new Ably.Realtime({ key: '%s', endpoint: '%s', port: %d, tls: false })\n", key, host, port)
	fmt.Fprintf(w, "ably-go:\n  ably.NewRealtime(ably.WithKey(%q), ably.WithEndpoint(%q), ably.WithPort(%d),\n    ably.WithTLS(false), ably.WithInsecureAllowBasicAuthWithoutTLS())\n", key, host, port)
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}

// redactKey hides a key secret in error messages.
func redactKey(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i] + ":…"
	}
	return s
}
