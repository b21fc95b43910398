// Package compose holds the sandbox's docker compose file (a bare Postgres 16
// and MongoDB 7 as a single-node replica set) and a thin runner around the
// `docker compose` CLI: up with --wait, down, and port lookups.
//
// livesync-dev uses it only when a Docker engine answers (see
// EngineAvailable); otherwise the sandbox falls back to native or embedded
// servers.
package compose

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // for the compose file
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

//go:embed compose.yaml
var composeFile []byte

// FileName is the name Runner writes the compose file under, in Runner.Dir.
const FileName = "compose.yaml"

// Service names in the compose file.
const (
	// Postgres is the Postgres 16 service; its container port is 5432.
	Postgres = "postgres"
	// Mongo is the MongoDB 7 replica-set service; its container port is 27017.
	Mongo = "mongo"
)

// Environment variables the compose file reads; Runner.Env sets them.
const (
	// EnvPostgresPort is the host port for Postgres on 127.0.0.1 (empty: any free port).
	EnvPostgresPort = "LIVESYNC_PG_PORT"
	// EnvMongoPort is the host port for MongoDB on 127.0.0.1 (empty: any free port).
	EnvMongoPort = "LIVESYNC_MONGO_PORT"
	// EnvPostgresUser is the superuser name (default postgres).
	EnvPostgresUser = "LIVESYNC_PG_USER"
	// EnvPostgresPassword is the superuser password (default livesync).
	EnvPostgresPassword = "LIVESYNC_PG_PASSWORD"
	// EnvPostgresDB is the database the image creates (default livesync).
	EnvPostgresDB = "LIVESYNC_PG_DB"
)

// File returns a copy of the embedded compose file.
func File() []byte { return bytes.Clone(composeFile) }

// ProjectName derives a compose project name from a project directory, so
// sandboxes of different checkouts never share containers or volumes.
func ProjectName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return "livesync-" + hex.EncodeToString(sum[:])[:10]
}

// Runner runs `docker compose` for one project.
type Runner struct {
	// Project is the compose project name (-p): lower-case letters, digits,
	// '-' and '_'. See ProjectName.
	Project string
	// Dir is where the compose file is written (e.g. .livesync/compose).
	Dir string
	// Env adds variables (see the Env* constants) to the CLI's environment.
	Env map[string]string
	// Docker is the docker CLI to run; empty means "docker" on PATH.
	Docker string
	// Output receives the CLI's progress output; nil discards it. The end
	// of it is also quoted in errors.
	Output io.Writer
}

// Up writes the compose file and starts services (all when none are named),
// waiting until their healthchecks pass: `docker compose up -d --wait`.
func (r Runner) Up(ctx context.Context, services ...string) error {
	args := append([]string{"up", "-d", "--wait"}, services...)
	_, err := r.compose(ctx, args...)
	return err
}

// Down stops and removes the project's containers; purge also deletes its
// volumes (the databases' data).
func (r Runner) Down(ctx context.Context, purge bool) error {
	args := []string{"down"}
	if purge {
		args = append(args, "-v")
	}
	_, err := r.compose(ctx, args...)
	return err
}

// Port returns the host port published for service's containerPort.
func (r Runner) Port(ctx context.Context, service string, containerPort int) (int, error) {
	out, err := r.compose(ctx, "port", service, strconv.Itoa(containerPort))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	i := strings.LastIndex(line, ":")
	port, perr := strconv.Atoi(strings.TrimSpace(line[i+1:]))
	if i < 0 || perr != nil || port <= 0 {
		return 0, fmt.Errorf("compose: `docker compose port %s %d` printed %q, want HOST:PORT: is the service running?", service, containerPort, strings.TrimSpace(out))
	}
	return port, nil
}

// compose writes the file and runs `docker compose -p P -f F args...`,
// returning its stdout.
func (r Runner) compose(ctx context.Context, args ...string) (string, error) {
	if r.Project == "" || r.Dir == "" {
		return "", errors.New("compose: Runner needs a Project and a Dir")
	}
	file, err := r.writeFile()
	if err != nil {
		return "", err
	}
	full := append([]string{"compose", "-p", r.Project, "-f", file}, args...)
	path, err := exec.LookPath(r.docker())
	if err != nil {
		return "", fmt.Errorf("compose: docker CLI not found (%s): install Docker or use another sandbox backend", r.docker())
	}
	cmd := exec.CommandContext(ctx, path, full...)
	cmd.Env = os.Environ()
	for k, v := range r.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout bytes.Buffer
	tail := &tailBuffer{max: 2048}
	var progress io.Writer = tail
	if r.Output != nil {
		progress = io.MultiWriter(tail, r.Output)
	}
	cmd.Stdout = &stdout
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(tail.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("compose: `docker %s` failed: %s", strings.Join(args, " "), msg)
	}
	if r.Output != nil {
		_, _ = r.Output.Write(stdout.Bytes())
	}
	return stdout.String(), nil
}

// writeFile writes the compose file into Dir (creating it) and returns its
// path.
func (r Runner) writeFile() (string, error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return "", fmt.Errorf("compose: creating %s: %w", r.Dir, err)
	}
	path := filepath.Join(r.Dir, FileName)
	if err := os.WriteFile(path, composeFile, 0o644); err != nil {
		return "", fmt.Errorf("compose: writing %s: %w", path, err)
	}
	return path, nil
}

func (r Runner) docker() string {
	if r.Docker == "" {
		return "docker"
	}
	return r.Docker
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// String returns the kept bytes.
func (t *tailBuffer) String() string { return string(t.buf) }
