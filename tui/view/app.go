package view

import (
	"context"
	"sync"
	"time"

	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/config"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// Options configure an App.
type Options struct {
	// Source is where the data comes from (required).
	Source model.Source
	// Dashboard is the dashboard configuration (zero fields take defaults).
	Dashboard config.Dashboard
	// Readonly hides and refuses every write (also set by Dashboard.Readonly).
	Readonly bool
	// External marks an attached database (shown in the header).
	External bool
	// NoColor forces the mono theme (NO_COLOR is set).
	NoColor bool
	// Now is the clock (default time.Now); tests fix it.
	Now func() time.Time
	// Async runs slow work (queries) off the UI goroutine (default: go f()).
	// Tests pass a synchronous runner.
	Async func(func())
	// Post runs f on the UI goroutine and redraws, without blocking the
	// caller (default: run f at once, which is right only without a running
	// tview.Application; tui.Run passes a non-blocking queue).
	Post func(func())
	// Copy puts text on the clipboard (OSC 52 through the screen).
	Copy func([]byte)
	// Quit stops the application.
	Quit func()
	// SetMouse turns mouse input on or off (hot reload of Dashboard.Mouse).
	SetMouse func(bool)
	// Narration, when set, is a narrated script (`livesync-dev demo`): its
	// captions show in a box under the overview on every screen and the
	// advance key (model.ActNextStep) tells it to go on.
	Narration *model.Narration
}

// Screen names one of the dashboard's views.
type Screen string

// The views, in number-key order.
const (
	ScreenDashboard Screen = "dashboard"
	ScreenOutbox    Screen = "outbox"
	ScreenNodes     Screen = "nodes"
	ScreenStuck     Screen = "stuck"
	ScreenRejected  Screen = "rejected"
	ScreenChannels  Screen = "channels"
	ScreenLog       Screen = "log"
)

// Panel is one focusable part of a screen.
type Panel interface {
	tview.Primitive
	// Name is the panel's title.
	Name() string
	// Filter returns the `/` filter.
	Filter() string
	// SetFilter applies a `/` filter.
	SetFilter(q string)
	// Update re-reads the state.
	Update()
	// InRect reports whether a screen position is inside the panel.
	InRect(x, y int) bool
	// Inspect returns the selected item as a JSON document.
	Inspect() (title string, doc []byte, ok bool)
}

// rowActor is a panel whose rows retry and delete act on.
type rowActor interface {
	ToggleMark()
	Targets() []int64
	ClearMarks()
	FilterParams() monitor.OutboxActionParams
}

// chooser is a panel where Enter chooses rather than inspects.
type chooser interface{ Choose() }

// App is the dashboard: the overview, the views, the overlays and the key
// table. All methods run on the UI goroutine unless said otherwise.
type App struct {
	opts     Options
	env      *env
	cfg      config.Dashboard
	keys     *model.Keymap
	readonly bool

	root     *root
	overview *Overview
	outbox   *OutboxPanel
	rejected *OutboxPanel
	nodes    *NodesPanel
	stuck    *StuckPanel
	tail     *TailPanel
	chans    *ChannelList
	log      *LogPanel

	screen   Screen
	focusIdx map[Screen]int
	focused  tview.Primitive

	overlay      tview.Primitive
	prompt       *prompt
	flash        string
	flashErr     bool
	flashAt      time.Time
	configErr    string
	refreshEvery chan time.Duration

	narration  *model.Narration
	captionBox *captionBox
	caption    model.Caption
	hasCaption bool
	unsubCap   func()

	mu     sync.Mutex
	events []connector.Event
	msgs   []monitor.TailMessage
}

// New builds the dashboard; it fails only on an invalid key remapping.
func New(opts Options) (*App, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Async == nil {
		opts.Async = func(f func()) { go f() }
	}
	if opts.Post == nil {
		opts.Post = func(f func()) { f() }
	}
	cfg := withDefaults(opts.Dashboard)
	keys, err := model.NewKeymap(cfg.Keys)
	if err != nil {
		return nil, err
	}
	a := &App{opts: opts, cfg: cfg, keys: keys, readonly: opts.Readonly || cfg.Readonly,
		screen: ScreenDashboard, focusIdx: map[Screen]int{}, refreshEvery: make(chan time.Duration, 1)}
	a.env = &env{src: opts.Source, state: model.NewState(cfg.TailBuffer), theme: ThemeNamed(cfg.Theme, opts.NoColor),
		now: opts.Now, async: opts.Async, post: opts.Post}
	a.overview = newOverview(a)
	a.outbox = newOutboxPanel("Outbox", a.env, monitor.AllRows)
	a.rejected = newOutboxPanel("Rejected", a.env, monitor.RejectedRows)
	a.nodes = newNodesPanel(a.env)
	a.stuck = newStuckPanel(a.env)
	a.tail = newTailPanel(a.env)
	a.chans = newChannelList(a.env, a.tail)
	a.log = newLogPanel(a.env)
	a.root = newRoot(a)
	if opts.Narration != nil {
		a.narration = opts.Narration
		a.captionBox = newCaptionBox(a)
		a.unsubCap = opts.Narration.Subscribe(func(c model.Caption) { a.env.post(func() { a.showCaption(c) }) })
	}
	a.focusPanel()
	return a, nil
}

// withDefaults fills zero fields from config.Default.
func withDefaults(c config.Dashboard) config.Dashboard {
	d := config.Default().Dashboard
	if c.Refresh <= 0 {
		c.Refresh = d.Refresh
	}
	if c.Theme == "" {
		c.Theme = d.Theme
	}
	if c.StuckThreshold <= 0 {
		c.StuckThreshold = d.StuckThreshold
	}
	if c.TailBuffer <= 0 {
		c.TailBuffer = d.TailBuffer
	}
	return c
}

// Root returns the primitive to hand to tview.Application.SetRoot.
func (a *App) Root() tview.Primitive { return a.root }

// Screen returns the current view.
func (a *App) Screen() Screen { return a.screen }

// Readonly reports whether writes are hidden.
func (a *App) Readonly() bool { return a.readonly }

// Flash returns the current status message.
func (a *App) Flash() string { return a.flash }

// Overlay returns the open overlay (help, confirm, inspector, insert form),
// or nil.
func (a *App) Overlay() tview.Primitive { return a.overlay }

// Panels returns the current screen's panels.
func (a *App) Panels() []Panel { return a.panels(a.screen) }

// Focused returns the focused panel.
func (a *App) Focused() Panel {
	ps := a.panels(a.screen)
	return ps[a.focusIdx[a.screen]%len(ps)]
}

// Theme returns the active theme.
func (a *App) Theme() Theme { return a.env.theme }

// panels lists a screen's panels in focus order.
func (a *App) panels(s Screen) []Panel {
	switch s {
	case ScreenOutbox:
		return []Panel{a.outbox}
	case ScreenNodes:
		return []Panel{a.nodes}
	case ScreenStuck:
		return []Panel{a.stuck}
	case ScreenRejected:
		return []Panel{a.rejected}
	case ScreenChannels:
		return []Panel{a.chans, a.tail}
	case ScreenLog:
		return []Panel{a.log}
	}
	return []Panel{a.outbox, a.nodes, a.tail}
}

// ApplySnapshot shows a snapshot (UI goroutine).
func (a *App) ApplySnapshot(s *monitor.Snapshot) {
	a.env.state.ApplySnapshot(s, a.env.now())
	for _, p := range a.panels(a.screen) {
		p.Update()
	}
}

// ApplySnapshotError shows that a snapshot failed, keeping the last one.
func (a *App) ApplySnapshotError(err error) { a.env.state.SnapErr = err }

// ApplyEvents shows connector events (UI goroutine).
func (a *App) ApplyEvents(evs []connector.Event) {
	for _, e := range evs {
		a.env.state.ApplyEvent(e)
	}
	a.tail.Update()
	a.log.Update()
}

// ApplyTail shows received channel messages (UI goroutine).
func (a *App) ApplyTail(msgs []monitor.TailMessage) {
	now := a.env.now()
	for _, m := range msgs {
		a.env.state.ApplyTail(m, now)
	}
	a.tail.Update()
	if a.screen == ScreenChannels {
		a.chans.Update()
	}
}

// Refresh takes a snapshot in the background and shows it.
func (a *App) Refresh() {
	a.env.async(func() {
		s, err := a.env.src.Snapshot(context.Background())
		a.env.post(func() {
			if err != nil {
				a.ApplySnapshotError(err)
				return
			}
			a.ApplySnapshot(s)
		})
	})
}

// Start runs the refresh loop and the event and tail pumps until ctx is
// done. Events and messages are batched and drawn at most ten times a
// second. Call it on the UI goroutine or before the application runs;
// Options.Post must not block (tview's QueueUpdateDraw does: wrap it).
func (a *App) Start(ctx context.Context) {
	a.Refresh()
	go a.refreshLoop(ctx, a.cfg.Refresh)
	if ch := a.env.src.Events(); ch != nil {
		go pump(ctx, ch, func(e connector.Event) { a.mu.Lock(); a.events = append(a.events, e); a.mu.Unlock() })
	}
	if ch := a.env.src.TailMessages(); ch != nil {
		go pump(ctx, ch, func(m monitor.TailMessage) { a.mu.Lock(); a.msgs = append(a.msgs, m); a.mu.Unlock() })
	}
	go a.flushLoop(ctx)
	if a.unsubCap != nil {
		go func() {
			<-ctx.Done()
			a.unsubCap()
		}()
	}
}

// refreshLoop takes a snapshot every Refresh (changed by hot reload).
func (a *App) refreshLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-a.refreshEvery:
			t.Reset(d)
		case <-t.C:
			a.opts.Post(a.Refresh)
		}
	}
}

// flushLoop hands batched events and messages to the UI every 100ms.
func (a *App) flushLoop(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.mu.Lock()
			evs, msgs := a.events, a.msgs
			a.events, a.msgs = nil, nil
			a.mu.Unlock()
			if len(evs) == 0 && len(msgs) == 0 {
				continue
			}
			a.opts.Post(func() {
				a.ApplyEvents(evs)
				a.ApplyTail(msgs)
			})
		}
	}
}

// pump reads ch until it closes or ctx is done.
func pump[T any](ctx context.Context, ch <-chan T, add func(T)) {
	for {
		select {
		case <-ctx.Done():
			return
		case v, ok := <-ch:
			if !ok {
				return
			}
			add(v)
		}
	}
}

// ApplyDashboardConfig applies a reloaded dashboard configuration: keys,
// theme, refresh period, tail buffer, mouse and read-only (which can only be
// added to what the command line asked for). An invalid key remapping is
// returned and shown in the header, and the running configuration stays.
// Safe to call from any goroutine (the config watcher's).
func (a *App) ApplyDashboardConfig(c config.Dashboard) error {
	c = withDefaults(c)
	keys, err := model.NewKeymap(c.Keys)
	if err != nil {
		a.ShowConfigError(err)
		return err
	}
	a.opts.Post(func() {
		a.cfg, a.keys, a.configErr = c, keys, ""
		a.readonly = a.opts.Readonly || c.Readonly
		a.env.theme = ThemeNamed(c.Theme, a.opts.NoColor)
		a.env.theme.Apply()
		a.env.state.Tail.Resize(c.TailBuffer)
		a.tail.Update()
		if a.opts.SetMouse != nil {
			a.opts.SetMouse(c.Mouse)
		}
		select {
		case a.refreshEvery <- c.Refresh:
		default:
		}
	})
	return nil
}

// ShowConfigError shows a configuration error in the header without
// changing the running configuration. Safe from any goroutine.
func (a *App) ShowConfigError(err error) {
	a.opts.Post(func() { a.configErr = oneLine(err.Error()) })
}
