package ablylocal

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// faultSet holds the fault rules in force (see package fault). Every hook
// checks n first, so an endpoint without rules pays one atomic load.
type faultSet struct {
	n   atomic.Int32 // rules in force (expired ones included until pruned)
	now func() time.Time

	mu       sync.Mutex
	rules    []*liveFault
	seq      int
	dropping bool // the drop ticker runs
}

// liveFault is a rule in force and its bookkeeping.
type liveFault struct {
	fault.Active
	lastDrop time.Time
	rates    map[string]*rateWindow // rate rules: per channel
}

// expired reports whether f's lifetime has ended at now.
func (f *liveFault) expired(now time.Time) bool { return f.Expires != nil && !now.Before(*f.Expires) }

// addFault validates r and puts it in force.
func (s *Server) addFault(r fault.Rule) (fault.Active, error) {
	if err := r.Validate(); err != nil {
		return fault.Active{}, err
	}
	fs := &s.faults
	now := fs.now()
	fs.mu.Lock()
	fs.seq++
	r.ID = "f" + strconv.Itoa(fs.seq)
	f := &liveFault{Active: fault.Active{Rule: r, Added: now.UTC()}}
	if r.For > 0 {
		exp := now.Add(time.Duration(r.For)).UTC()
		f.Expires = &exp
	}
	fs.rules = append(fs.rules, f)
	fs.n.Store(int32(len(fs.rules)))
	startDrops := r.Drop && !fs.dropping
	if startDrops {
		fs.dropping = true
	}
	added := f.Active
	fs.mu.Unlock()
	s.log.Info("ablylocal: fault rule added", "id", r.ID, "rule", r.String())
	if startDrops {
		go s.dropLoop()
	}
	return added, nil
}

// AddFault puts a fault rule in force (what POST /_livesync/faults does).
func (s *Server) AddFault(r fault.Rule) (fault.Active, error) { return s.addFault(r) }

// Faults lists the rules in force, oldest first.
func (s *Server) Faults() []fault.Active {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.pruneLocked()
	out := make([]fault.Active, len(fs.rules))
	for i, f := range fs.rules {
		out[i] = f.Active
	}
	return out
}

// ClearFaults removes the rule with id, or every rule when id is "", and
// returns how many it removed.
func (s *Server) ClearFaults(id string) int {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.pruneLocked()
	kept := fs.rules[:0]
	for _, f := range fs.rules {
		if id != "" && f.ID != id {
			kept = append(kept, f)
		}
	}
	n := len(fs.rules) - len(kept)
	for i := len(kept); i < len(fs.rules); i++ {
		fs.rules[i] = nil
	}
	fs.rules = kept
	fs.n.Store(int32(len(kept)))
	return n
}

// pruneLocked drops expired rules; fs.mu is held.
func (fs *faultSet) pruneLocked() {
	now := fs.now()
	kept := fs.rules[:0]
	for _, f := range fs.rules {
		if !f.expired(now) {
			kept = append(kept, f)
		}
	}
	for i := len(kept); i < len(fs.rules); i++ {
		fs.rules[i] = nil
	}
	fs.rules = kept
	fs.n.Store(int32(len(kept)))
}

// each calls fn for every live rule of kind matching channel ("" matches
// any), under fs.mu; fn returns false to stop.
func (fs *faultSet) each(kind, channel string, fn func(f *liveFault) bool) {
	if fs.n.Load() == 0 {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	now := fs.now()
	for _, f := range fs.rules {
		if f.expired(now) || f.Kind() != kind || channel != "" && !f.Matches(channel) {
			continue
		}
		if !fn(f) {
			return
		}
	}
}

// publishError is the error a refuse or rate rule answers a publish on
// channel with, nil when none applies.
func (fs *faultSet) publishError(channel string) *errorInfo {
	var e *errorInfo
	fs.each(fault.KindRefuse, channel, func(f *liveFault) bool {
		f.Hits++
		e = newErr(f.Code, statusForCode(f.Code), fmt.Sprintf("publish to channel %q refused with %d by fault rule %s (%s), %s; `livesync-dev fault clear` removes it",
			channel, f.Code, f.ID, f.String(), fault.Marker))
		return false
	})
	if e != nil {
		return e
	}
	now := fs.now()
	fs.each(fault.KindRate, channel, func(f *liveFault) bool {
		if f.rates == nil {
			f.rates = map[string]*rateWindow{}
		}
		w := f.rates[channel]
		if w == nil {
			w = &rateWindow{}
			f.rates[channel] = w
		}
		if !w.allowN(now, f.Rate) {
			f.Hits++
			e = newErr(42913, 429, fmt.Sprintf("rate limit exceeded: more than %d messages/s on channel %q (fault rule %s, %s)", f.Rate, channel, f.ID, fault.Marker))
			return false
		}
		return true
	})
	return e
}

// ackDelay is how long the ACK of a publish on channel is held: the
// longest delay of the matching rules.
func (fs *faultSet) ackDelay(channel string) time.Duration {
	var d time.Duration
	fs.each(fault.KindDelayAck, channel, func(f *liveFault) bool {
		f.Hits++
		d = max(d, time.Duration(f.DelayAck))
		return true
	})
	return d
}

// connectError is the error a refuse-connections rule answers a new
// realtime connection with, nil when none applies.
func (fs *faultSet) connectError() *errorInfo {
	var e *errorInfo
	fs.each(fault.KindRefuseConnections, "", func(f *liveFault) bool {
		f.Hits++
		left := ""
		if f.Expires != nil {
			left = " for another " + time.Until(*f.Expires).Round(100*time.Millisecond).String()
		}
		e = newErr(80003, 503, "new connections are refused"+left+" by fault rule "+f.ID+", "+fault.Marker+"; retry later")
		return false
	})
	return e
}
