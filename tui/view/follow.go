package view

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// follower keeps a table over a growing ring either following the newest
// entry (last row selected) or paused where the user scrolled to: moving the
// selection off the last row pauses; the follow action or End resumes.
type follower[T any] struct {
	p      *panel
	ring   *model.Ring[T]
	view   *model.Filtered[T]
	match  func(T) bool
	follow bool
}

// newFollower returns a follower over ring, following.
func newFollower[T any](p *panel, ring *model.Ring[T], match func(T) bool) *follower[T] {
	f := &follower[T]{p: p, ring: ring, match: match, follow: true}
	f.view = model.NewFiltered(ring, match)
	return f
}

// refilter rebuilds the filtered view (filter changed).
func (f *follower[T]) refilter() {
	f.view = model.NewFiltered(f.ring, f.match)
	f.follow = true
	f.sync()
}

// sync takes in new entries, keeping the selection on the same entry while
// paused and on the newest while following.
func (f *follower[T]) sync() {
	var abs uint64
	had := false
	if r := f.p.row(); r >= 0 {
		_, abs, had = f.view.At(r)
	}
	f.view.Sync()
	n := f.view.Len()
	switch {
	case f.follow || n == 0:
		f.p.Select(max(n, 1), 0)
	case had:
		if i := f.view.Index(abs); i >= 0 {
			f.p.Select(i+1, 0)
		} else {
			f.p.Select(1, 0)
		}
	}
	if f.follow {
		f.p.ScrollToEnd()
	}
}

// setFollow resumes or pauses following.
func (f *follower[T]) setFollow(on bool) {
	f.follow = on
	if on {
		f.p.Select(max(f.view.Len(), 1), 0)
		f.p.ScrollToEnd()
	}
}

// state returns the title suffix: "PAUSED" when not following.
func (f *follower[T]) state() string {
	if f.follow {
		return ""
	}
	return "[PAUSED: f follows]"
}

// wrapInput passes keys to the table and then pauses when the selection
// left the last row, or resumes when it reached it with End.
func (f *follower[T]) wrapInput(h func(*tcell.EventKey, func(tview.Primitive))) func(*tcell.EventKey, func(tview.Primitive)) {
	return func(ev *tcell.EventKey, setFocus func(tview.Primitive)) {
		h(ev, setFocus)
		r, _ := f.p.GetSelection()
		last := f.view.Len()
		if ev.Key() == tcell.KeyEnd || (ev.Key() == tcell.KeyRune && ev.Rune() == 'G') {
			f.setFollow(true)
			return
		}
		if r < last {
			f.follow = false
		}
	}
}
