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

// waitDrained polls until no row is unprocessed. A count each second gives
// the progress and the rate; from it the end is predicted, and EXISTS
// (which skips the drain's dead index entries, ~0.8 ms each here) is polled
// every 10 ms only from a third of the predicted time left onwards, so the
// end is still known within 10 ms while the poll no longer takes ~8% of a
// core from the drain it measures, as polling all along did.
func waitDrained(ctx context.Context, pool *pgxpool.Pool, p *process, total int64, progress func(done int64)) error {
	const tick = 10 * time.Millisecond
	var lastCount time.Time
	var lastDone, left int64
	var rate float64 // rows/s between the last two counts
	lastMove := time.Now()
	for {
		if time.Since(lastCount) >= time.Second {
			n, err := pending(ctx, pool)
			if err != nil {
				return err
			}
			done := total - n
			if !lastCount.IsZero() {
				rate = float64(done-lastDone) / time.Since(lastCount).Seconds()
			}
			if done != lastDone {
				lastMove = time.Now()
			}
			lastDone, left, lastCount = done, n, time.Now()
			progress(done)
			if n == 0 {
				return nil
			}
		}
		if time.Since(lastMove) > 60*time.Second {
			return fmt.Errorf("the drain made no progress for 60s at %d of %d rows; connector log:\n%s", lastDone, total, p.logTail())
		}
		wait := tick
		if eta := predictedLeft(left, rate, time.Since(lastCount)); eta > 30*tick {
			wait = min(eta/3, time.Until(lastCount.Add(time.Second)))
		} else {
			more, err := anyPending(ctx, pool)
			if err != nil {
				return err
			}
			if !more {
				progress(total)
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("`connector run` exited during the drain (%v):\n%s", p.err, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(wait, time.Millisecond)):
		}
	}
}

// predictedLeft is how long left rows take at rate rows/s, less the time
// since they were counted; 0 when the rate is not known yet.
func predictedLeft(left int64, rate float64, since time.Duration) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(left)/rate*float64(time.Second)) - since
}
