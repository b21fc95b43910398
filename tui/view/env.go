package view

import (
	"time"

	"github.com/livesync-dev/livesync-dev/tui/model"
)

// env is what every view shares: the data source, the state, the theme,
// the clock and how work is scheduled.
type env struct {
	src   model.Source
	state *model.State
	theme Theme
	now   func() time.Time
	// async runs slow work (queries) off the UI goroutine.
	async func(func())
	// post runs f on the UI goroutine and redraws.
	post func(func())
}

// dbNow estimates the database clock now, from the last snapshot.
func (e *env) dbNow() time.Time {
	s := e.state
	if s.Snap == nil {
		return e.now().UTC()
	}
	return s.Snap.At.Add(e.now().Sub(s.SnapAt))
}
