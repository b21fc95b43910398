package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// profiler collects the connector's profiles of the drain through its
// /debug/pprof endpoints (`connector run --pprof`). A nil dir does nothing.
type profiler struct {
	dir   string
	addr  string
	files []string
}

func (p *profiler) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("profile %s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	return b, nil
}

// startCPU opens the CPU profile window.
func (p *profiler) startCPU(ctx context.Context) error {
	if p.dir == "" {
		return nil
	}
	_, err := p.do(ctx, http.MethodPost, "/debug/pprof/cpu/start")
	return err
}

// collect closes the CPU window and saves it with the block, mutex
// (cumulative since the process started, i.e. the drain) and heap profiles.
func (p *profiler) collect(ctx context.Context) error {
	if p.dir == "" {
		return nil
	}
	for _, f := range []struct{ method, path, file string }{
		{http.MethodPost, "/debug/pprof/cpu/stop", "connector-cpu.pprof"},
		{http.MethodGet, "/debug/pprof/block", "connector-block.pprof"},
		{http.MethodGet, "/debug/pprof/mutex", "connector-mutex.pprof"},
		{http.MethodGet, "/debug/pprof/heap", "connector-heap.pprof"},
		{http.MethodGet, "/debug/pprof/goroutine?debug=1", "connector-goroutines.txt"},
	} {
		b, err := p.do(ctx, f.method, f.path)
		if err != nil {
			return err
		}
		path := filepath.Join(p.dir, f.file)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		p.files = append(p.files, path)
	}
	return nil
}
