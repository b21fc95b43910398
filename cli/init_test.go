package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livesync-dev/livesync-dev/config"
)

// runInit runs `livesync-dev init` with args and returns stdout and the error.
func runInit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := NewRootCommand(&stdout, &stderr)
	root.SetArgs(append([]string{"init"}, args...))
	err := root.Execute()
	return stdout.String(), err
}

func TestInitWritesDefaultsAndNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "livesync.yaml")
	out, err := runInit(t, "--file", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote "+path) {
		t.Errorf("stdout %q does not say what was written", out)
	}
	cfg, err := config.Load(config.Source{File: path})
	if err != nil {
		t.Fatalf("the written file does not load: %v", err)
	}
	def := config.Default()
	if !cfg.Equal(&def) {
		t.Errorf("the written file does not load back to Default()")
	}

	// An edited file survives a second init without --force.
	edited := []byte("connector:\n  nodes: 2\n")
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runInit(t, "--file", path)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("want exit 1 telling to use --force, got %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, edited) {
		t.Errorf("the existing file was changed without --force")
	}

	// --force replaces it, and leaves no temporary file behind.
	if _, err := runInit(t, "--file", path, "--force"); err != nil {
		t.Fatal(err)
	}
	if cfg, err = config.Load(config.Source{File: path}); err != nil || cfg.Connector.Nodes != 1 {
		t.Errorf("--force did not restore the defaults: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only livesync.yaml", len(entries))
	}
}

func TestInitDefaultFileInCurrentDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := runInit(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(config.DefaultFile); err != nil {
		t.Errorf("init did not write ./%s: %v", config.DefaultFile, err)
	}
}

func TestInitRejectsArguments(t *testing.T) {
	if _, err := runInit(t, "extra"); err == nil || !isCobraUsageError(err) {
		t.Errorf("want a usage error for a positional argument, got %v", err)
	}
}
