package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/connector/postgres"
	"github.com/livesync-dev/livesync-dev/sandbox"
)

// waitRegistered waits until the connector process has registered all its
// nodes in .livesync/nodes (the contract monitors use to find them) and
// returns their health addresses. Polls with a deadline: another process's
// file appearing has no event here.
func waitRegistered(ctx context.Context, dir string, p *process, nodes int) ([]string, error) {
	stateDir := filepath.Join(dir, sandbox.DirName)
	deadline := time.Now().Add(60 * time.Second)
	for {
		regs, _ := postgres.ReadRegistrations(stateDir)
		var addrs []string
		for _, r := range regs {
			if r.PID == p.pid() {
				addrs = append(addrs, r.HealthAddr)
			}
		}
		if len(addrs) >= nodes {
			return addrs, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("`connector run` exited during start-up (%v):\n%s", p.err, p.logTail())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("`connector run` registered %d of %d nodes within 60s:\n%s", len(addrs), nodes, p.logTail())
		}
	}
}

// waitDrained polls until no row is unprocessed: EXISTS every 10 ms (cheap
// on the pending index; the drain's end is known within 10 ms, 0.2% of a
// 5 s drain), a count for progress every second (a count visits every
// pending row: polled more often it took ~4% of a core from the drain it
// measures).
func waitDrained(ctx context.Context, pool *pgxpool.Pool, p *process, total int64, progress func(done int64)) error {
	lastCount := time.Time{}
	var lastDone int64
	lastMove := time.Now()
	for {
		left, err := anyPending(ctx, pool)
		if err != nil {
			return err
		}
		if !left {
			progress(total)
			return nil
		}
		if time.Since(lastCount) >= time.Second {
			n, err := pending(ctx, pool)
			if err != nil {
				return err
			}
			done := total - n
			if done != lastDone {
				lastDone, lastMove = done, time.Now()
			}
			progress(done)
			lastCount = time.Now()
		}
		if time.Since(lastMove) > 60*time.Second {
			return fmt.Errorf("the drain made no progress for 60s at %d of %d rows; connector log:\n%s", lastDone, total, p.logTail())
		}
		select {
		case <-p.exited:
			return fmt.Errorf("`connector run` exited during the drain (%v):\n%s", p.err, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
