// Package cli holds the livesync-dev command tree (cobra). Each file is one
// command; business logic lives in the packages the commands call.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Version and Commit are set at build time with -ldflags "-X".
var (
	Version = "dev"
	Commit  = ""
)

// ExitError carries a specific process exit status out of a command.
type ExitError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks an error as bad usage (exit status 2).
func usageError(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// NewRootCommand builds the whole command tree. stdout and stderr are where
// commands write; tests pass buffers.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "livesync-dev",
		Short:         "Terminal dashboard and local sandbox for Ably LiveSync",
		Long:          "livesync-dev provisions a Postgres outbox exactly as Ably LiveSync requires, runs a local copy\nof the LiveSync connector, serves a local Ably-compatible endpoint and shows it all.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: 2, Err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	addConfigFlag(root)
	for _, add := range commands {
		root.AddCommand(add())
	}
	rootRunsUp(root)
	return root
}

// commands lists the constructors of the top-level commands; each command
// file appends itself in an init function so files stay independent.
var commands []func() *cobra.Command

// Execute runs the command line and returns the process exit status.
func Execute(args []string) int {
	root := NewRootCommand(os.Stdout, os.Stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintf(os.Stderr, "livesync-dev: %v\n", err)
	return exitCode(err)
}

// exitCode maps a command's error to the process exit status: an
// ExitError's code, 2 for cobra's usage errors, else 1.
func exitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	case isCobraUsageError(err):
		return 2
	}
	return 1
}
