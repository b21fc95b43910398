package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/schema"
)

// Options say how to bring the sandbox up.
type Options struct {
	// Dir is the project folder (holding .livesync).
	Dir string
	// PgURL attaches to an existing database instead of running one.
	PgURL string
	// Provision creates the LiveSync schema on an external database.
	Provision bool
	// NoIndexes leaves out the recommended partial indexes.
	NoIndexes bool
	// Names locate the LiveSync tables.
	Names schema.Names
	// Backend forces a backend: "", "auto", "external", "compose",
	// "native" or "embedded".
	Backend string
	// PostgresPort asks for a fixed port (0: any free port).
	PostgresPort int
	// PostgresVersion is the major version for compose and embedded.
	PostgresVersion string
	// EmbeddedRepository is where embedded-postgres downloads binaries.
	EmbeddedRepository string
	// Executable is the livesync-dev binary that runs the background Ably
	// endpoint (`ably serve`); empty starts no endpoint (library use and
	// tests that need none).
	Executable string
	// AblyKey is a real Ably key: record real Ably instead of a local
	// endpoint. It is never written to disk.
	AblyKey string
	// AblyKeySource says where AblyKey came from, e.g. "env:ABLY_API_KEY".
	AblyKeySource string
	// AblyAddr is the local endpoint's listen address (port 0: free port).
	AblyAddr string
	// AblyArgs are extra `ably serve` arguments (e.g. --config FILE).
	AblyArgs []string
	// Docker is the docker CLI ("docker" when empty).
	Docker string
	// Progress receives human progress lines (never stdout under --json).
	Progress io.Writer
	// LockWait bounds the wait for another command's lock (default 2m).
	LockWait time.Duration
	// Mongo says how MongoDB is provided (see ensureMongo).
	Mongo MongoOptions
}

func (o *Options) progress() io.Writer {
	if o.Progress == nil {
		return io.Discard
	}
	return o.Progress
}

// ErrNoBackend says no Postgres backend could run.
var ErrNoBackend = errors.New("no Postgres backend available")

// Up brings the sandbox's Postgres up (or finds it healthy), provisions it,
// records it in .livesync/sandbox.json and returns the state.
func Up(ctx context.Context, opts Options) (*State, error) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	dir, err := absDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	wait := opts.LockWait
	if wait == 0 {
		wait = 2 * time.Minute
	}
	lock, err := AcquireLock(ctx, dir, "sandbox up", wait, opts.progress())
	if err != nil {
		return nil, err
	}
	defer lock.Release()

	prev, err := Load(dir)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	st := &State{Version: 1, dir: dir}
	if prev != nil {
		st = prev
	}
	warn := func(format string, args ...any) {
		fmt.Fprintf(opts.progress(), "warning: "+format+"\n", args...)
	}
	backend, err := chooseBackend(ctx, dir, opts, prev)
	if err != nil {
		return nil, err
	}
	preferred := 0
	if prev != nil && prev.Postgres.Backend == backend.name() {
		preferred = portOf(prev.Postgres.URL)
	}
	wasRunning := backend.running(ctx)
	ep, err := backend.up(ctx, preferred, warn)
	if err != nil {
		return nil, err
	}
	saved := false
	defer func() {
		// Stop what this call started when a later step failed; a brand-new
		// sandbox is also purged, so nothing is left half-written.
		if !saved && !wasRunning {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = backend.down(dctx, prev == nil)
		}
	}()
	if !wasRunning && prev != nil && prev.Postgres.Running {
		fmt.Fprintf(opts.progress(), "postgres: the recorded server was not running; restarted it on the same data\n")
	}
	if backend.name() != "external" || opts.Provision {
		if err := provision(ctx, ep, backend.name() != "external", opts); err != nil {
			return nil, err
		}
	}
	st.Postgres = PostgresState{URL: ep.url, Backend: backend.name(), Running: true, DataDir: ep.dataDir}
	st.startedPostgres = !wasRunning
	if err := ensureAbly(ctx, st, opts, warn); err != nil {
		return nil, err
	}
	st.Mongo = ensureMongo(ctx, dir, opts, st.Mongo)
	if err := st.Save(); err != nil {
		return nil, err
	}
	saved = true
	return st.clone(), nil
}

func absDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("project folder %s: %w", abs, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("project folder %s is not a directory", abs)
	}
	return abs, nil
}

// chooseBackend picks the recorded backend for an existing sandbox, else the
// first that works, saying why it skipped the others.
func chooseBackend(ctx context.Context, dir string, opts Options, prev *State) (pgBackend, error) {
	out := opts.progress()
	want := opts.Backend
	if opts.PgURL != "" {
		want = "external"
	}
	if want == "" || want == "auto" {
		if prev != nil && prev.Postgres.Backend != "" && prev.Postgres.Backend != "external" {
			want = prev.Postgres.Backend
		}
	}
	all := []pgBackend{
		&externalBackend{url: opts.PgURL},
		newComposeBackend(dir, opts),
		newNativeBackend(ctx, dir, opts.PostgresPort),
		newEmbeddedBackend(dir, opts),
	}
	var tried []string
	for _, b := range all {
		if want != "" && want != "auto" && b.name() != want {
			continue
		}
		if b.name() == "external" && opts.PgURL == "" {
			tried = append(tried, "external: no --pg-url given")
			continue
		}
		ok, why := b.available(ctx)
		if ok {
			for _, t := range tried {
				fmt.Fprintf(out, "postgres: skipped %s\n", t)
			}
			fmt.Fprintf(out, "postgres: using the %s backend\n", b.name())
			return b, nil
		}
		tried = append(tried, b.name()+": "+why)
	}
	if want != "" && want != "auto" && len(tried) == 0 {
		return nil, fmt.Errorf("unknown Postgres backend %q: use auto, external, compose, native or embedded", want)
	}
	return nil, fmt.Errorf("%w; tried:\n  %s\nto fix: install PostgreSQL server binaries (e.g. `apt-get install postgresql` or `brew install postgresql@16`), start a Docker engine, or pass --pg-url for an existing database", ErrNoBackend, strings.Join(tried, "\n  "))
}

// provision creates the sandbox database (on backends we run) and the
// LiveSync schema.
func provision(ctx context.Context, ep pgEndpoint, createDB bool, opts Options) error {
	target := ep.adminURL
	if createDB {
		conn, err := dbconn.Connect(ctx, ep.adminURL, "livesync-dev sandbox")
		if err != nil {
			return err
		}
		var exists bool
		err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&exists)
		if err == nil && !exists {
			_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{Database}.Sanitize())
		}
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("creating database %s: %w", Database, err)
		}
		target = replaceDB(ep.adminURL, Database)
	}
	conn, err := dbconn.Connect(ctx, target, "livesync-dev sandbox")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return schema.Provision(ctx, conn, schema.ProvisionParams{Names: opts.Names, RolePassword: RolePassword, NoIndexes: opts.NoIndexes})
}

func replaceDB(raw, db string) string {
	i := strings.Index(raw, "/postgres?")
	if i < 0 {
		return raw
	}
	return raw[:i] + "/" + db + raw[i+len("/postgres"):]
}

// Status loads the sandbox found from dir and checks liveness by connecting,
// not by trusting the file.
func Status(ctx context.Context, dir string) (*State, error) {
	st, err := LoadFrom(dir)
	if err != nil {
		return nil, err
	}
	st.Postgres.Running = pgAlive(ctx, st.Postgres.URL)
	if st.Ably != nil {
		st.Ably.Running = ablyAlive(ctx, st.Ably)
	}
	st.Mongo = mongoStatus(ctx, st.Mongo)
	return st.clone(), nil
}

func pgAlive(ctx context.Context, url string) bool {
	if url == "" {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := dbconn.Connect(cctx, url, "livesync-dev status")
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// DownOptions say how to bring the sandbox down.
type DownOptions struct {
	// Dir is where to look for the sandbox (then its parents).
	Dir string
	// Purge deletes the data and the state file too.
	Purge bool
	// Progress receives human progress lines.
	Progress io.Writer
}

// Down stops everything the sandbox started (never an external database)
// and, with Purge, deletes its data.
func Down(ctx context.Context, opts DownOptions) (*State, error) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	out := opts.Progress
	if out == nil {
		out = io.Discard
	}
	dir, err := Find(opts.Dir)
	if errors.Is(err, ErrNotFound) {
		// No state file: a .livesync left here (the file deleted by hand)
		// may still have running processes and data to recover.
		abs, aerr := filepath.Abs(opts.Dir)
		if aerr != nil {
			return nil, err
		}
		if fi, serr := os.Stat(filepath.Join(abs, DirName)); serr == nil && fi.IsDir() {
			return recoverDown(ctx, abs, opts, out, nil)
		}
	}
	if err != nil {
		return nil, err
	}
	st, err := Load(dir)
	if errors.Is(err, ErrDamaged) {
		return recoverDown(ctx, dir, opts, out, err)
	}
	if err != nil {
		return nil, err
	}
	lock, err := AcquireLock(ctx, st.dir, "sandbox down", 2*time.Minute, out)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := stopAbly(ctx, st, out); err != nil {
		return nil, err
	}
	// Endpoints of this folder the file does not record (started while the
	// file was damaged or deleted) are stopped too, so none is stranded.
	for _, pid := range endpointProcesses(st.dir) {
		if err := stopProcess(ctx, pid, func() bool { return endpointOf(pid, st.dir) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "ably endpoint: stopped an unrecorded endpoint of this folder (pid %d)\n", pid)
	}
	var b pgBackend
	switch st.Postgres.Backend {
	case "native":
		b = newNativeBackend(ctx, st.dir, 0)
	case "compose":
		b = newComposeBackend(st.dir, Options{})
	case "embedded":
		b = newEmbeddedBackend(st.dir, Options{})
	default:
		b = &externalBackend{url: st.Postgres.URL}
	}
	if err := stopMongo(ctx, st, opts.Purge); err != nil {
		return nil, err
	}
	if err := b.down(ctx, opts.Purge); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "postgres (%s): stopped\n", b.name())
	st.Postgres.Running = false
	if opts.Purge {
		// Everything the sandbox wrote goes: state, ably.log (it holds the
		// endpoint's start-up lines), the lock, node registrations.
		if err := purgeDir(st.dir); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "sandbox data deleted (%s)\n", filepath.Join(st.dir, DirName))
		return st.clone(), nil
	}
	return st.clone(), st.Save()
}
