package view_test

import (
	"strings"
	"testing"
	"time"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/tui/internal/fake"
	"github.com/livesync-dev/livesync-dev/tui/view"
)

// mongoSource is the fake source plus a Mongo connector state.
type mongoSource struct {
	*fake.Source
	st mongo.State
}

func (m *mongoSource) MongoState() (mongo.State, bool) { return m.st, true }

// TestOverviewShowsMongo: with a Mongo connector the overview shows its
// stream state, rate, token age, 72004 skips and a stuck error code;
// without one nothing changes (the goldens cover that).
func TestOverviewShowsMongo(t *testing.T) {
	stored := time.Now()
	var ms *mongoSource
	b := setup(t, 3, func(o *view.Options) {
		ms = &mongoSource{Source: o.Source.(*fake.Source), st: mongo.State{Stream: mongo.StreamStuck, EventsPerSecond: 12,
			TokenStoredAt: &stored, TokenAgeSeconds: 3, SkippedNoChannel: 2, LastErrorCode: mongo.CodeHistoryLost}}
		o.Source = ms
	})
	text := b.screenText(t)
	for _, want := range []string{"Mongo stuck 12.0/s token 3.0s", "no-channel 2", "error 72008"} {
		if !strings.Contains(text, want) {
			t.Errorf("overview lacks %q:\n%s", want, strings.SplitN(text, "\n", 3)[1])
		}
	}
}
