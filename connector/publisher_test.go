package connector

import (
	"errors"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
)

// TestPacerSpacesSlots: against real Ably sends are spaced to 50 msg/s per
// channel and per connection.
func TestPacerSpacesSlots(t *testing.T) {
	p := newPacer(RealAblyRate, 1)
	t0 := time.Unix(1000, 0)
	step := time.Second / RealAblyRate
	var last time.Time
	for i := 0; i < 100; i++ {
		ch := "a"
		if i%2 == 1 {
			ch = "b"
		}
		at := p.reserve(t0, ch, 0)
		if want := t0.Add(time.Duration(i) * step); !at.Equal(want) {
			t.Fatalf("slot %d at %v, want %v (connection limit)", i, at.Sub(t0), want.Sub(t0))
		}
		last = at
	}
	// After a quiet second, a channel may send at once again.
	later := last.Add(2 * time.Second)
	if at := p.reserve(later, "a", 0); !at.Equal(later) {
		t.Errorf("idle channel waits %v", at.Sub(later))
	}
}

// TestErrorCode extracts Ably codes from wrapped errors.
func TestErrorCode(t *testing.T) {
	err := &ably.ErrorInfo{Code: 40009, StatusCode: 400}
	if got := ErrorCode(errors.Join(errors.New("x"), err)); got != 40009 {
		t.Errorf("code %d", got)
	}
	if ErrorCode(errors.New("plain")) != 0 {
		t.Error("plain error has a code")
	}
}

// TestPacerPerConnection: each connection has its own 50 msg/s budget, and
// a channel's own limit holds whichever connection it is on.
func TestPacerPerConnection(t *testing.T) {
	p := newPacer(RealAblyRate, 2)
	t0 := time.Unix(1000, 0)
	step := time.Second / RealAblyRate
	for i, c := range []struct {
		channel string
		conn    int
		want    time.Duration
	}{
		{"a", 0, 0},
		{"b", 1, 0},        // another connection: not held back by a's
		{"c", 0, step},     // a's connection is busy until step
		{"d", 1, step},     // b's likewise
		{"a", 0, 2 * step}, // a's connection and a itself
	} {
		if at := p.reserve(t0, c.channel, c.conn); at.Sub(t0) != c.want {
			t.Errorf("reservation %d (%s on %d) at %v, want %v", i, c.channel, c.conn, at.Sub(t0), c.want)
		}
	}
}

// TestAckErrorTypedNil: ably-go's typed-nil *ErrorInfo (a publish on a
// closing connection) becomes a usable "not sent" error; real errors and
// nil pass through.
func TestAckErrorTypedNil(t *testing.T) {
	var typedNil *ably.ErrorInfo
	err := ackError(typedNil)
	if err == nil || !errors.Is(err, errNotSent) || err.Error() == "" {
		t.Fatalf("ackError(typed nil) = %v, want errNotSent", err)
	}
	if ackError(nil) != nil {
		t.Fatal("ackError(nil) != nil")
	}
	real := &ably.ErrorInfo{Code: 40009}
	if got := ackError(real); got != error(real) {
		t.Fatalf("ackError(real) = %v", got)
	}
}
