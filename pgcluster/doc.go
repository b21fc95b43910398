// Package pgcluster runs a native PostgreSQL cluster from the server binaries
// installed on the machine (initdb, pg_ctl, postgres): finding them,
// initialising a data directory exactly as livesync-dev needs it (UTF8,
// C.UTF-8, UTC, track_commit_timestamp, TCP only) and starting or stopping the
// server.
//
// PostgreSQL refuses to run as root. When the current user is root every
// server command runs as the "postgres" system user, and the cluster's base
// directory must be reachable by that user through every parent directory;
// Base checks this and explains how to fix it instead of changing
// permissions of the user's own directories.
//
// Two ways to start a server exist: Start uses pg_ctl so the server outlives
// the command (the sandbox), StartChild runs postgres as a child process that
// the kernel kills when its parent dies (the test harness).
package pgcluster
