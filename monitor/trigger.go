package monitor

import (
	"context"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/doctor"
)

// TriggerState says whether the notify trigger is there and right.
type TriggerState struct {
	// Present is true when a trigger on the outbox calls pg_notify.
	Present bool `json:"present"`
	// Correct is true when the doctor finds the trigger and its function as
	// LiveSync needs them (statement-level AFTER INSERT, channel ably_adbc,
	// exception handler).
	Correct bool `json:"correct"`
	// Detail explains the first problem, empty when correct.
	Detail string `json:"detail"`
	// Fix is the SQL that repairs it, empty when correct.
	Fix string `json:"fix"`
}

// triggerEvery is how often the trigger is checked again: the doctor's
// catalog checks cost a few milliseconds and the trigger rarely changes.
const triggerEvery = 10 * time.Second

// trigger fills s.Trigger, from a cache younger than triggerEvery.
func (m *Monitor) trigger(ctx context.Context, s *Snapshot) error {
	m.mu.Lock()
	cached, at := m.triggerState, m.triggerAt
	m.mu.Unlock()
	if !at.IsZero() && s.At.Sub(at) >= 0 && s.At.Sub(at) < triggerEvery {
		s.Trigger = cached
		return nil
	}
	if err := m.checkTrigger(ctx, s); err != nil {
		return err
	}
	m.mu.Lock()
	m.triggerState, m.triggerAt = s.Trigger, s.At
	m.mu.Unlock()
	return nil
}

// checkTrigger checks the trigger from the catalog and with the doctor's checks.
func (m *Monitor) checkTrigger(ctx context.Context, s *Snapshot) error {
	err := m.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal AND p.prosrc ILIKE '%pg_notify%')`, m.opts.Names.Outbox()).Scan(&s.Trigger.Present)
	if err != nil {
		return err
	}
	checks, err := doctor.Run(ctx, m.db, doctor.Params{Names: m.opts.Names, Role: m.opts.Role})
	if err != nil {
		s.Trigger.Detail = "trigger checks failed: " + err.Error()
		return nil
	}
	s.Trigger.Correct = s.Trigger.Present
	for _, c := range checks {
		if c.ID != "trigger" && !strings.HasPrefix(c.ID, "notify.") {
			continue
		}
		if c.Status == doctor.Fail && s.Trigger.Fix == "" {
			s.Trigger.Correct, s.Trigger.Detail, s.Trigger.Fix = false, c.Detail, c.Fix
		}
	}
	return nil
}
