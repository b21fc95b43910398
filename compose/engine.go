package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// probeTimeout bounds each probe of the docker CLI: a hung engine socket
// must not hold up `sandbox up`, which then tries the next backend.
const probeTimeout = 5 * time.Second

// EngineAvailable reports whether a Docker engine answers the docker CLI
// (empty docker means "docker" on PATH). When it does not, the reason says
// why: "docker CLI not found: ..." or "no Docker engine answering: <the
// CLI's first error line>".
func EngineAvailable(ctx context.Context, docker string) (bool, string) {
	if docker == "" || docker == "docker" {
		if why := noEngineConfigured(); why != "" {
			return false, why
		}
	}
	out, reason := probe(ctx, docker, "info", "--format", "{{.ServerVersion}}")
	if reason != "" {
		return false, reason
	}
	if strings.TrimSpace(out) == "" {
		return false, "no Docker engine answering: `docker info` reported no server version"
	}
	return true, ""
}

// noEngineConfigured answers at once on a machine where the CLI could only
// reach the default socket and that socket does not exist, instead of
// running `docker info` (slow on a loaded machine). It returns "" when an
// engine may be reachable.
func noEngineConfigured() string {
	if os.Getenv("DOCKER_HOST") != "" || os.Getenv("DOCKER_CONTEXT") != "" {
		return ""
	}
	if home, err := os.UserHomeDir(); err == nil {
		if _, err := os.Stat(filepath.Join(home, ".docker", "contexts")); err == nil {
			return ""
		}
	}
	if _, err := os.Stat("/var/run/docker.sock"); err == nil {
		return ""
	}
	return "no Docker engine answering: /var/run/docker.sock does not exist and no DOCKER_HOST or docker context is set"
}

// ComposeAvailable reports whether the docker CLI has the compose plugin
// (`docker compose version`); the reason says why not.
func ComposeAvailable(ctx context.Context, docker string) (bool, string) {
	if _, reason := probe(ctx, docker, "compose", "version"); reason != "" {
		if strings.HasPrefix(reason, "docker CLI not found") {
			return false, reason
		}
		return false, "docker compose plugin not available: " + strings.TrimPrefix(reason, "no Docker engine answering: ")
	}
	return true, ""
}

// probe runs the docker CLI with a short timeout and returns its stdout, or
// a reason it did not succeed.
func probe(ctx context.Context, docker string, args ...string) (string, string) {
	if docker == "" {
		docker = "docker"
	}
	path, err := exec.LookPath(docker)
	if err != nil {
		return "", fmt.Sprintf("docker CLI not found: %q is not an executable on PATH", docker)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil {
		return stdout.String(), ""
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "", fmt.Sprintf("no Docker engine answering: `docker %s` timed out after %s", args[0], probeTimeout)
	}
	line := firstLine(stderr.String())
	if line == "" {
		line = firstLine(stdout.String())
	}
	if line == "" {
		line = err.Error()
	}
	return "", "no Docker engine answering: " + line
}

// firstLine returns s's first non-blank line, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
