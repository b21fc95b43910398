package postgres

import (
	"bytes"
	"net/http"
	"net/http/pprof"
	"runtime"
	rpprof "runtime/pprof"
	"sync"
)

// Profiling rates set while Options.Profile is on. They are process-wide
// (runtime settings) and off by default: block and mutex profiling cost a
// little on every contended lock and channel operation.
const (
	// ProfileBlockRate records one blocking event per this many nanoseconds
	// spent blocked (runtime.SetBlockProfileRate): 10µs.
	ProfileBlockRate = 10_000
	// ProfileMutexFraction records one in this many mutex contention events
	// (runtime.SetMutexProfileFraction).
	ProfileMutexFraction = 10
)

var profileRatesOnce sync.Once

// registerProfiling adds net/http/pprof's handlers under /debug/pprof/ to
// mux and switches block and mutex profiling on for the process. Besides
// the standard endpoints it serves /debug/pprof/cpu/start and
// /debug/pprof/cpu/stop (POST), a CPU profile over a window the caller
// chooses, e.g. exactly one drain; stop returns the profile.
func registerProfiling(mux *http.ServeMux) {
	profileRatesOnce.Do(func() {
		runtime.SetBlockProfileRate(ProfileBlockRate)
		runtime.SetMutexProfileFraction(ProfileMutexFraction)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/cpu/start", cpuWindow.start)
	mux.HandleFunc("/debug/pprof/cpu/stop", cpuWindow.stop)
}

// cpuWindow is the process's one start/stop CPU profile (the runtime allows
// one CPU profile at a time, so all nodes of a process share it).
var cpuWindow = &cpuProfileWindow{}

type cpuProfileWindow struct {
	mu      sync.Mutex
	buf     *bytes.Buffer
	running bool
}

func (c *cpuProfileWindow) start(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		http.Error(w, "a CPU profile window is already running: POST /debug/pprof/cpu/stop first", http.StatusConflict)
		return
	}
	buf := &bytes.Buffer{}
	if err := rpprof.StartCPUProfile(buf); err != nil {
		http.Error(w, "cannot start the CPU profile (another one running, e.g. /debug/pprof/profile?): "+err.Error(), http.StatusConflict)
		return
	}
	c.buf, c.running = buf, true
	w.WriteHeader(http.StatusNoContent)
}

func (c *cpuProfileWindow) stop(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		http.Error(w, "no CPU profile window is running: POST /debug/pprof/cpu/start first", http.StatusConflict)
		return
	}
	rpprof.StopCPUProfile()
	c.running = false
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="cpu.pprof"`)
	_, _ = w.Write(c.buf.Bytes())
	c.buf = nil
}
