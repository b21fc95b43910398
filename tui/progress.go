package tui

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// ProgressWriter adapts a Startup progress function to an io.Writer (for
// sandbox.Options.Progress): each complete line written becomes one
// progress line; blank lines are skipped. Safe for concurrent use.
func ProgressWriter(progress func(string)) io.Writer {
	return &lineWriter{fn: progress}
}

// lineWriter splits writes into lines.
type lineWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	fn  func(string)
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.Reset()
			w.buf.WriteString(line) // keep the partial line
			return len(p), nil
		}
		if s := strings.TrimRight(line, "\r\n"); strings.TrimSpace(s) != "" {
			w.fn(s)
		}
	}
}
