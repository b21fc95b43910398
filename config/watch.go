package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet time Watch waits for when given 0.
const DefaultDebounce = 200 * time.Millisecond

// Watch reloads the configuration whenever its file changes, until ctx is
// done, and returns nil then; it returns an error at once when the file's
// directory cannot be watched. It watches the directory rather than the
// file, so editors that save by writing a new file and renaming it over the
// old one are seen, as are creation and removal.
//
// Changes are debounced: a reload happens once no event has arrived for
// debounce (DefaultDebounce when 0 or less). Each reload calls
// fn(newConfig, nil), or fn(nil, err) when the new file does not load; the
// caller keeps its old configuration in force then. A reload that yields
// the same values as the previous successful one is not delivered, unless
// the delivery before it was an error. fn runs on Watch's goroutine.
//
// A relative file is watched in the directory that is current when Watch
// starts; reloads read it relative to the current directory, so do not change
// directory while watching.
func Watch(ctx context.Context, src Source, debounce time.Duration, fn func(*Config, error)) error {
	return watch(ctx, src, debounce, fn, nil)
}

// watch is Watch with a hook called once the watch is in place (for tests).
func watch(ctx context.Context, src Source, debounce time.Duration, fn func(*Config, error), ready func()) error {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	path, _ := src.path()
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("config: watching %s: %w", path, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("config: watching %s: %w", path, err)
	}
	defer w.Close()
	dir := filepath.Dir(abs)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("config: cannot watch directory %s for changes to %s: %w", dir, filepath.Base(abs), err)
	}
	last, _ := Load(src)
	lastFailed := false
	if ready != nil {
		ready()
	}

	timer := time.NewTimer(debounce)
	timer.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(ev.Name) != abs || ev.Op == fsnotify.Chmod {
				continue
			}
			if pending {
				timer.Stop()
			}
			timer.Reset(debounce)
			pending = true
		case _, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflowed queue may have lost events: reload to be sure.
			if pending {
				timer.Stop()
			}
			timer.Reset(debounce)
			pending = true
		case <-timer.C:
			pending = false
			c, err := Load(src)
			if err != nil {
				lastFailed = true
				fn(nil, err)
				continue
			}
			if !lastFailed && last != nil && c.Equal(last) {
				continue
			}
			last, lastFailed = c, false
			fn(c, nil)
		}
	}
}
