package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/livesync-dev/livesync-dev/config"
)

func init() { commands = append(commands, newInitCommand) }

func newInitCommand() *cobra.Command {
	var (
		file  string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented livesync.yaml with every default",
		Long: "init writes a livesync.yaml that lists every configuration key with its default value,\n" +
			"a one-line description and its LIVESYNC_* environment variable. It never overwrites an\n" +
			"existing file unless --force is given, and never writes an Ably key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError("--file must not be empty")
			}
			var buf bytes.Buffer
			if err := config.WriteDefault(&buf); err != nil {
				return err
			}
			if err := writeFileAtomic(file, buf.Bytes(), force); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return &ExitError{Code: 1, Err: fmt.Errorf("%s already exists; not overwriting it (use --force to replace it with the defaults)", file)}
				}
				return &ExitError{Code: 1, Err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d keys, all defaults)\n", file, len(config.KeyPaths()))
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", config.DefaultFile, "file to write")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// writeFileAtomic writes data to a temporary file beside path and moves it
// into place, so a reader never sees a half-written file. Without overwrite
// it fails with fs.ErrExist when path exists, even if it appears meanwhile.
func writeFileAtomic(path string, data []byte, overwrite bool) (err error) {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fs.ErrExist
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot create a file beside %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if overwrite {
		if err = os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("cannot replace %s: %w", path, err)
		}
		return nil
	}
	// A hard link fails if path exists, so a file created since the check
	// above is never replaced; fall back to rename where links are not
	// supported.
	if err = os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		if _, serr := os.Lstat(path); serr == nil {
			return fs.ErrExist
		}
		if err = os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("cannot create %s: %w", path, err)
		}
		return nil
	}
	os.Remove(tmp.Name())
	return nil
}
