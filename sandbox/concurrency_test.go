package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentUpsShareOneSandbox(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	var wg sync.WaitGroup
	states := make([]*State, 2)
	errs := make([]error, 2)
	for i := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			states[i], errs[i] = Up(ctx, Options{Dir: dir, Progress: &bytes.Buffer{}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("up #%d: %v", i, err)
		}
	}
	if states[0].Postgres.URL != states[1].Postgres.URL {
		t.Fatalf("two concurrent ups made two databases: %s and %s", states[0].Postgres.URL, states[1].Postgres.URL)
	}
}

func TestDataDirOfAnotherMajorVersion(t *testing.T) {
	requireNative(t)
	t.Parallel()
	dir := newProject(t)
	st := up(t, dir, &bytes.Buffer{})
	ctx := context.Background()
	if _, err := Down(ctx, DownOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	// Pretend an older PostgreSQL made the data directory.
	path := filepath.Join(st.Postgres.DataDir, "PG_VERSION")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Up(ctx, Options{Dir: dir, Progress: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "created by PostgreSQL 9") || !strings.Contains(err.Error(), "--purge") {
		t.Fatalf("want a clear version-mismatch error, got %v", err)
	}
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
}
