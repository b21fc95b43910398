package monitor

import "time"

// sample is what successive snapshots remember for the rates.
type sample struct {
	at      time.Time
	maxSeq  int64
	pending int64
}

// highWater remembers the largest MAX(sequence_id) seen and when it last
// went down.
type highWater struct {
	maxSeq  int64
	resetAt time.Time
}

// rateWindow is how far back the rates look.
const rateWindow = time.Minute

// rates records this snapshot and computes insert and publish rates
// against the oldest sample within the last minute.
func (m *Monitor) rates(s *Snapshot) {
	var maxSeq int64
	if s.Outbox.MaxSequenceID != nil {
		maxSeq = *s.Outbox.MaxSequenceID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if maxSeq < m.highWater.maxSeq {
		m.highWater.resetAt = s.At
		m.samples = nil // ids restarted: old samples would give negative rates
	}
	m.highWater.maxSeq = maxSeq
	cut := 0
	for cut < len(m.samples) && s.At.Sub(m.samples[cut].at) > rateWindow {
		cut++
	}
	m.samples = append(m.samples[cut:], sample{at: s.At, maxSeq: maxSeq, pending: s.Outbox.Pending})
	first := m.samples[0]
	dt := s.At.Sub(first.at).Seconds()
	if dt <= 0 {
		return
	}
	ins := float64(maxSeq-first.maxSeq) / dt
	pub := max(float64((maxSeq-first.maxSeq)-(s.Outbox.Pending-first.pending))/dt, 0)
	s.Rates = Rates{WindowSeconds: dt, InsertPerSecond: &ins, PublishPerSecond: &pub}
}

// resetWithin reports whether MAX(sequence_id) went down in the 2 minutes
// before at.
func (m *Monitor) resetWithin(at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.highWater.resetAt.IsZero() && at.Sub(m.highWater.resetAt) <= 2*time.Minute
}
