package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OutboxHoldParams say which row's lock to hold and for how long.
type OutboxHoldParams struct {
	// SequenceID is the row.
	SequenceID int64
	// Duration is how long the lock is held; the context may end it sooner.
	Duration time.Duration
	// OnHeld, when set, is called once the lock is taken, with the backend
	// pid holding it (what `status` names as the row's holder).
	OnHeld func(pid int)
}

// OutboxHold takes the row lock of one outbox row from an open transaction
// (SELECT … FOR UPDATE) and keeps the transaction open for Duration or
// until ctx ends, then rolls back: what a long application transaction
// touching the row does. The connector's claim skips the row (SKIP
// LOCKED) and its completion waits at most its lock_timeout, so the row's
// channel stops at it; `status` reports it as row-locked with the holder.
func (m *Monitor) OutboxHold(ctx context.Context, p OutboxHoldParams) error {
	if m.opts.ReadOnly {
		return ErrReadOnly
	}
	tx, err := m.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // the hold ends here
	var pid int
	q := fmt.Sprintf(`SELECT pg_backend_pid() FROM %s WHERE sequence_id = $1 FOR UPDATE`, m.opts.Names.Outbox())
	if err := tx.QueryRow(ctx, q, p.SequenceID).Scan(&pid); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrMissingRows, p.SequenceID)
		}
		return m.explainWrite("hold", err)
	}
	if p.OnHeld != nil {
		p.OnHeld(pid)
	}
	t := time.NewTimer(p.Duration)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done(): // Ctrl-C ends the hold early: not a failure
	}
	return nil
}
