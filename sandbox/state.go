package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DirName is the per-project folder holding the sandbox's state and logs.
const DirName = ".livesync"

// StateFile is the state file's name inside DirName.
const StateFile = "sandbox.json"

// State is the contract written to .livesync/sandbox.json and printed by
// `sandbox up --json` and `sandbox status --json`.
type State struct {
	// Version is the file format version (1).
	Version int `json:"version"`
	// Postgres describes the database.
	Postgres PostgresState `json:"postgres"`
	// Ably is the endpoint, or nil when none is recorded.
	Ably *AblyState `json:"ably"`
	// Mongo says whether a MongoDB is available.
	Mongo MongoState `json:"mongo"`

	// dir is the project folder (holding .livesync); not serialised.
	dir string
	// startedPostgres is set by Up when this call started the database.
	startedPostgres bool
}

// StartedPostgres reports whether the Up that returned this state started
// the database (false when it found it running, or it is external).
func (s *State) StartedPostgres() bool { return s.startedPostgres }

// PostgresState is the "postgres" object of the contract.
type PostgresState struct {
	// URL is a TCP URL with sslmode=disable, as livesync_user.
	URL string `json:"url"`
	// Backend is native, compose, embedded or external.
	Backend string `json:"backend"`
	// Running is true when the database accepted a connection just now.
	Running bool `json:"running"`
	// DataDir is the data directory (empty for compose and external).
	DataDir string `json:"dataDir"`
}

// AblyState is the "ably" object of the contract.
type AblyState struct {
	// Host is an IP or "localhost" (SDKs treat dot-less names as routing policies).
	Host string `json:"host"`
	// Port is the TCP port.
	Port int `json:"port"`
	// TLS is whether the endpoint speaks TLS.
	TLS bool `json:"tls"`
	// Key is the local endpoint's key; absent for real Ably.
	Key string `json:"key,omitempty"`
	// KeySource says where a real key comes from, e.g. "env:ABLY_API_KEY".
	KeySource string `json:"keySource,omitempty"`
	// Local is true for the built-in endpoint.
	Local bool `json:"local"`
	// Running is true when the endpoint answered /time just now.
	Running bool `json:"running"`
	// PID is the background endpoint's process id (not in the contract's
	// required fields; used to stop it safely).
	PID int `json:"pid,omitempty"`
}

// MongoState is the "mongo" object of the contract.
type MongoState struct {
	// Available is whether a MongoDB replica set can be used.
	Available bool `json:"available"`
	// Reason says why not, when unavailable.
	Reason string `json:"reason,omitempty"`
	// URL connects to it, when available.
	URL string `json:"url,omitempty"`
	// Backend is how it runs, when available.
	Backend string `json:"backend,omitempty"`
}

// Dir is the project folder holding .livesync.
func (s *State) Dir() string { return s.dir }

// ErrNotFound says no sandbox state exists in a folder or its parents.
var ErrNotFound = errors.New("no sandbox found in this folder or its parents: run `livesync-dev sandbox up` first")

// ErrDamaged says the state file exists but cannot be read: the processes it
// recorded may still run, so the advice is `sandbox down`, which recovers
// them from the folder itself.
var ErrDamaged = errors.New("sandbox state is damaged")

// DamagedError is a state file that exists but does not parse.
type DamagedError struct {
	// Path is the state file.
	Path string
	// Err is the parse error.
	Err error
}

// Error implements error.
func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s is damaged (%v): the sandbox it recorded may still be running; run `livesync-dev sandbox down` to stop what this folder started (it finds the endpoint and Postgres without the file), then `livesync-dev sandbox up`", e.Path, e.Err)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// Unwrap returns the parse error.
func (e *DamagedError) Unwrap() error { return e.Err }

// Find looks for .livesync/sandbox.json in start and then its parents, like
// git, and returns the project folder that holds it.
func Find(start string) (string, error) {
	abs, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, DirName, StateFile)); err == nil {
			return dir, nil
		}
		if dir == filepath.Dir(dir) {
			return "", ErrNotFound
		}
	}
}

// Load reads the state of the project folder dir.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, DirName, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, &DamagedError{Path: filepath.Join(dir, DirName, StateFile), Err: fmt.Errorf("not valid JSON: %w", err)}
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("%s has version %d; this livesync-dev understands version 1", filepath.Join(dir, DirName, StateFile), s.Version)
	}
	s.dir = dir
	return &s, nil
}

// LoadFrom finds the sandbox from start and loads it.
func LoadFrom(start string) (*State, error) {
	dir, err := Find(start)
	if err != nil {
		return nil, err
	}
	return Load(dir)
}

// ensureDir creates .livesync with a .gitignore that ignores everything.
func ensureDir(dir string) (string, error) {
	d := filepath.Join(dir, DirName)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", d, err)
	}
	gi := filepath.Join(d, ".gitignore")
	if _, err := os.Stat(gi); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(gi, []byte("*\n"), 0o644); err != nil {
			return "", err
		}
	}
	return d, nil
}

// Save writes the state atomically with mode 0600.
func (s *State) Save() error {
	d, err := ensureDir(s.dir)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d, StateFile), append(b, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new file, never a truncated one: a temp file in the same
// folder, fsynced, renamed over path, and the folder fsynced.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// Remove deletes the state file.
func (s *State) Remove() error {
	err := os.Remove(filepath.Join(s.dir, DirName, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// MarshalJSON-independent copy for printing.
func (s *State) clone() *State {
	c := *s
	if s.Ably != nil {
		a := *s.Ably
		c.Ably = &a
	}
	return &c
}
