// Package sandbox brings a project's local LiveSync environment up and down:
// a Postgres provisioned exactly as LiveSync requires (from one of several
// backends), the state file .livesync/sandbox.json that other commands find
// like git finds its repository, and the lock that keeps two commands from
// changing the sandbox at once.
//
// Postgres backends are tried in a fixed order, first that works: an
// external database (--pg-url), a Docker engine through docker compose,
// native server binaries, and embedded-postgres. Provisioning is the same Go
// code (package schema) for every backend.
//
// Re-running `sandbox up` on a healthy sandbox restarts nothing. A stale
// sandbox (after a reboot, or a dead server) is restarted on the same data,
// on the same port when it is free and on a new one, with a warning, when it
// is not.
package sandbox
