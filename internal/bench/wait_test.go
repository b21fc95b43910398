package bench

import (
	"testing"
	"time"
)

// TestPredictedLeft: the drain's end is predicted from the last count and
// rate; an unknown rate predicts nothing, so the caller polls at once.
func TestPredictedLeft(t *testing.T) {
	for _, c := range []struct {
		left  int64
		rate  float64
		since time.Duration
		want  time.Duration
	}{
		{5000, 5000, 0, time.Second},
		{5000, 5000, 400 * time.Millisecond, 600 * time.Millisecond},
		{5000, 0, 0, 0},
		{100, 5000, time.Second, -980 * time.Millisecond},
	} {
		if got := predictedLeft(c.left, c.rate, c.since); got != c.want {
			t.Errorf("predictedLeft(%d, %v, %s) = %s, want %s", c.left, c.rate, c.since, got, c.want)
		}
	}
}
