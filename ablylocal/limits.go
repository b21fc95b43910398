package ablylocal

import "time"

// ablyRateLimit is the per-channel and per-connection publish rate of
// --limits ably (Ably's default account limits), in messages per second.
const ablyRateLimit = 50

// rateWindow counts events in fixed one-second windows. The zero value is
// ready; callers serialise access.
type rateWindow struct {
	second int64
	count  int
}

// allow records one event at now and reports whether it stays within
// ablyRateLimit for the current second.
func (r *rateWindow) allow(now time.Time) bool {
	sec := now.Unix()
	if sec != r.second {
		r.second, r.count = sec, 0
	}
	if r.count >= ablyRateLimit {
		return false
	}
	r.count++
	return true
}
