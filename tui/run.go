// Package tui is livesync-dev's terminal dashboard. Run (or New + Run)
// shows a progress screen while the sandbox comes up, then the dashboard
// over a model.Source until the user quits, restoring the terminal.
//
// Layout of the package tree: tui/model holds the data seams and state (no
// tview), tui/view the screens and widgets, tui/source the adapter from
// monitor and connector to model.Source.
package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/tui/model"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// Source is the dashboard's data seam (see model.Source).
type Source = model.Source

// ErrInterrupted is returned when the user quits during startup.
var ErrInterrupted = errors.New("interrupted during startup")

// Options configure the dashboard.
type Options struct {
	// Source is the data source; leave nil and set Startup to build it
	// while a progress screen shows.
	Source Source
	// Startup, when set, runs first (with a context cancelled if the user
	// quits) and reports progress lines; the dashboard starts on the Source
	// it returns. An error ends Run with that error.
	Startup func(ctx context.Context, progress func(string)) (Source, error)
	// Config is the dashboard configuration (config.Config.Dashboard).
	Config config.Dashboard
	// Readonly hides and refuses writes (--readonly, or an external
	// database without --allow-writes).
	Readonly bool
	// External marks an attached database in the header.
	External bool
	// Screen is the terminal; nil means the real one.
	Screen tcell.Screen
	// Narration, when set, shows a narrated script's captions (`livesync-dev
	// demo`) in the dashboard and binds its advance key.
	Narration *model.Narration
}

// Dashboard is a dashboard about to run or running. Its config methods are
// safe from any goroutine, before or during Run.
type Dashboard struct {
	opts Options
	mu   sync.Mutex
	app  *view.App
	cfg  config.Dashboard
	cerr error
}

// New returns a dashboard; nothing happens until Run.
func New(opts Options) *Dashboard { return &Dashboard{opts: opts, cfg: opts.Config} }

// Run is New(opts).Run(ctx).
func Run(ctx context.Context, opts Options) error { return New(opts).Run(ctx) }

// OnConfig is a config.Watch callback: a good reload is applied, a bad one
// is shown in the header while the running configuration stays.
func (d *Dashboard) OnConfig(c *config.Config, err error) {
	if err != nil {
		d.ShowConfigError(err)
		return
	}
	_ = d.ApplyDashboardConfig(c.Dashboard)
}

// ApplyDashboardConfig applies a reloaded dashboard section (keys, theme,
// refresh, tail buffer, mouse, read-only). An invalid key remapping is
// returned and shown; the running configuration stays.
func (d *Dashboard) ApplyDashboardConfig(c config.Dashboard) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.app != nil {
		return d.app.ApplyDashboardConfig(c)
	}
	if _, err := model.NewKeymap(c.Keys); err != nil {
		d.cerr = err
		return err
	}
	d.cfg, d.cerr = c, nil
	return nil
}

// ShowConfigError shows a configuration error without applying anything.
func (d *Dashboard) ShowConfigError(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.app != nil {
		d.app.ShowConfigError(err)
		return
	}
	d.cerr = err
}

// Run shows the dashboard until the user quits (q or Ctrl-C) or ctx is
// done, then restores the terminal.
func (d *Dashboard) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	screen := d.opts.Screen
	if screen == nil {
		s, err := tcell.NewScreen()
		if err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		screen = s
	}
	noColor := os.Getenv("NO_COLOR") != ""
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	theme := view.ThemeNamed(cfg.Theme, noColor)
	theme.Apply()
	tapp := tview.NewApplication().SetScreen(screen).EnableMouse(cfg.Mouse)
	post := newPoster(ctx, tapp)
	var runErr error
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		tapp.Stop()
	}()
	src := d.opts.Source
	start := func(src Source) {
		a, err := d.build(src, tapp, post, screen, noColor, cancel)
		if err != nil {
			runErr = err
			tapp.Stop()
			return
		}
		tapp.SetRoot(a.Root(), true)
		a.Start(ctx)
	}
	if src != nil {
		start(src)
	} else if d.opts.Startup != nil {
		progress := newProgress(&theme)
		tapp.SetRoot(progress, true)
		tapp.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
			if ev.Key() == tcell.KeyCtrlC || (ev.Key() == tcell.KeyRune && ev.Rune() == 'q') {
				runErr = ErrInterrupted
				cancel()
			}
			return nil
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := d.opts.Startup(ctx, func(line string) {
				post(func() { progress.add(line) })
			})
			post(func() {
				tapp.SetInputCapture(nil)
				if runErr != nil {
					return
				}
				if err != nil {
					runErr = err
					tapp.Stop()
					return
				}
				start(s)
			})
		}()
	} else {
		return errors.New("dashboard: Options.Source or Options.Startup is required")
	}
	if err := tapp.Run(); err != nil {
		return err
	}
	cancel()
	return runErr
}

// build makes the view.App on the UI goroutine.
func (d *Dashboard) build(src Source, tapp *tview.Application, post func(func()), screen tcell.Screen, noColor bool, quit func()) (*view.App, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := view.New(view.Options{
		Source: src, Dashboard: d.cfg, Readonly: d.opts.Readonly, External: d.opts.External, NoColor: noColor,
		Post:      post,
		Copy:      screen.SetClipboard,
		Quit:      quit,
		SetMouse:  func(on bool) { tapp.EnableMouse(on) },
		Narration: d.opts.Narration,
	})
	if err != nil {
		return nil, err
	}
	if d.cerr != nil {
		a.ShowConfigError(d.cerr)
	}
	d.app = a
	return a, nil
}

// newPoster returns a function that queues f to run on the UI goroutine
// and redraw, without ever blocking its caller (tview's QueueUpdateDraw
// waits for the UI goroutine, so calling it from there would deadlock):
// one goroutine hands the queued functions over in order until ctx ends.
func newPoster(ctx context.Context, tapp *tview.Application) func(func()) {
	var mu sync.Mutex
	var queue []func()
	wake := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			mu.Lock()
			batch := queue
			queue = nil
			mu.Unlock()
			if len(batch) == 0 {
				continue
			}
			done := make(chan struct{})
			go func() {
				tapp.QueueUpdateDraw(func() {
					for _, f := range batch {
						f()
					}
				})
				close(done)
			}()
			select {
			case <-done:
			case <-ctx.Done():
				return // the application stopped; nothing drains updates any more
			}
		}
	}()
	return func(f func()) {
		mu.Lock()
		queue = append(queue, f)
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// progress is the startup screen: the steps so far, newest last.
type progress struct {
	*tview.TextView
	lines []string
	start time.Time
}

// newProgress builds the startup screen.
func newProgress(theme *view.Theme) *progress {
	p := &progress{TextView: tview.NewTextView(), start: time.Now()}
	p.SetBorder(true).SetTitle(" livesync-dev: starting (q quits) ").SetTitleColor(theme.Title)
	p.SetText("starting…")
	return p
}

// add appends a step.
func (p *progress) add(line string) {
	p.lines = append(p.lines, fmt.Sprintf("%5.1fs  %s", time.Since(p.start).Seconds(), line))
	p.SetText(strings.Join(p.lines, "\n"))
	p.ScrollToEnd()
}

// ValidateConfig checks the dashboard section the way Run will (key
// remapping), so `up` can refuse a bad file before starting anything.
func ValidateConfig(c config.Dashboard) error {
	_, err := model.NewKeymap(c.Keys)
	return err
}
