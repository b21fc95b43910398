package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/internal/stack"
)

func init() {
	extraReference = append(extraReference, func(w io.Writer) {
		fmt.Fprint(w, "### Configuration keys\n\n"+
			"Precedence: built-in defaults < `livesync.yaml` (the current folder, `--config FILE` or `$LIVESYNC_CONFIG`)\n"+
			"< `LIVESYNC_*` environment variables < flags. Durations take a unit (`100ms`, `1s`, `2m`) and must be at\n"+
			"least 100ms; `connector.lockTTL + connector.safetyPoll + connector.retry.max` must stay under 120s (Ably's\n"+
			"dedupe window). `livesync-dev init` writes a commented file with every default.\n\n")
		_ = config.WriteReference(w)
		fmt.Fprintln(w)
	})
}

// configFlag is the root's persistent --config flag value.
const configFlag = "config"

// addConfigFlag registers the root's --config flag.
func addConfigFlag(root *cobra.Command) {
	root.PersistentFlags().String(configFlag, "", "configuration file (default: ./livesync.yaml when present, or $LIVESYNC_CONFIG)")
}

// configFileFlag is the --config value ("" when not given).
func configFileFlag(cmd *cobra.Command) string {
	file, _ := cmd.Flags().GetString(configFlag)
	return file
}

// loadStack loads the configuration for cmd (livesync.yaml, LIVESYNC_*
// and the flag overrides given as key paths: only flags the user set) and
// finds the sandbox, through the one stack constructor every command uses.
// Configuration errors are bad input: exit status 2, naming the line.
func loadStack(cmd *cobra.Command, overrides map[string]string) (*stack.Stack, error) {
	s, err := stack.Load(stack.Params{ConfigFile: configFileFlag(cmd), Overrides: overrides})
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return s, nil
}

// stackError gives the stack's errors their exit status: bad flags 2, a
// missing database or endpoint 1.
func stackError(err error) error {
	var ue *stack.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return &ExitError{Code: 2, Err: err}
	case errors.Is(err, stack.ErrNoDatabase), errors.Is(err, stack.ErrNoEndpoint):
		return &ExitError{Code: 1, Err: err}
	}
	return err
}

// changed adds key=value to m when the named flag was set on the command
// line.
func changed(cmd *cobra.Command, m map[string]string, flag, key string) {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		m[key] = f.Value.String()
	}
}
