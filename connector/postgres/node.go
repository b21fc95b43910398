package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/dbconn"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// Node is one running connector node: a row in the nodes table, a share of
// the channels, its own database pool, LISTEN connection and Ably
// connections (AblyConnections).
type Node struct {
	id    string
	opts  Options
	store *Store
	pub   *connector.Publisher
	bus   *connector.Bus
	log   *slog.Logger
	m     *metrics

	runCtx  context.Context // cancelled when the node stops taking work
	stopRun context.CancelFunc
	killCtx context.Context // cancelled when everything must end now
	kill    context.CancelFunc
	wg      sync.WaitGroup // loops
	workers sync.WaitGroup // channel workers

	trigger chan struct{} // claim now (buffered 1)
	flush   chan struct{} // completer: flush now (buffered 1)

	fenceReqs  chan fenceRequest // channel workers → fencer
	fenceHurry chan struct{}     // a worker waits for its prefetch: start the round

	mu             sync.Mutex
	channels       map[string]*chanState
	held           int               // rows in memory: queued or awaiting completion
	acked          []ackedRow        // ACKed rows awaiting completion
	deferred       bool              // a claim was skipped because held reached the cap
	tombstones     []int64           // rows this node left (or adopted) processed = true
	tombsCheckedAt time.Time         // last idle check for a higher row than the tombstones (completeOnce)
	members        map[string]bool   // node ids at the last heartbeat; heartbeat-owned
	dropSeq        uint64            // counts drops of rows from memory
	lastDrop       map[string]uint64 // channel → dropSeq of its last drop

	pgUp, ablyUp, nodesUp, outboxUp atomic.Bool
	lastFound                       atomic.Int64 // unix ns of the last claim that found rows
	lastNote                        atomic.Int64 // unix ns of the last NOTIFY received
	deferredClaims                  atomic.Int64 // claim rounds skipped: held reached the cap
	ablyState                       ablyWatch
	share                           atomic.Value // string "i/n"
	health                          *connector.HealthServer
	stopOnce                        sync.Once
	jr                              *journal // nil when connector.journalSize is off
	commitTS                        bool     // claims return commit times (track_commit_timestamp)
}

// Start registers a node and starts its loops. Stop it with Stop (clean)
// or Kill (as if the process died).
func Start(ctx context.Context, opts Options) (*Node, error) {
	opts, err := opts.Validate()
	if err != nil {
		return nil, err
	}
	n := &Node{id: uuid.NewString(), opts: opts, bus: opts.Events, trigger: make(chan struct{}, 1),
		flush: make(chan struct{}, 1), fenceReqs: make(chan fenceRequest, fenceQueue), fenceHurry: make(chan struct{}, 1), channels: map[string]*chanState{}, lastDrop: map[string]uint64{}}
	n.log = opts.Logger.With("node", n.id[:8])
	n.share.Store("-")
	pool, err := dbconn.PoolWith(ctx, opts.DatabaseURL, "livesync-dev connector "+n.id, 8, opts.sessionParams())
	if err != nil {
		return nil, err
	}
	n.store = NewStore(pool, opts.Names)
	n.pub, err = connector.NewPublisher(connector.PublisherOptions{ClientOptions: opts.Ably, Pace: opts.RealAbly,
		RESTBatch: opts.PublishMode == PublishRESTBatch, Connections: opts.AblyConnections,
		Logger: n.log, OnState: func(state string, reason error) {
			n.ablyState.onState(state, reason)
			if reason != nil {
				n.log.Debug("ably connection", "state", state, "reason", ablylog.Redact(reason.Error()))
				return
			}
			n.log.Debug("ably connection", "state", state)
		}})
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := n.store.NodeRegister(ctx, NodeRegisterParams{ID: n.id, Timeout: opts.HeartbeatTimeout}); err != nil {
		n.pub.Close()
		pool.Close()
		return nil, fmt.Errorf("register node in %s: %w", opts.Names.Nodes(), err)
	}
	n.pgUp.Store(true)
	n.emit(connector.Event{Kind: connector.EventLeaseGained, Message: "node registered"})
	if opts.RealAbly {
		msg := fmt.Sprintf("publishing to real Ably: paced to %d msg/s per channel and per connection (%d connections)",
			connector.RealAblyRate, n.pub.Connections())
		n.log.Info(msg)
		n.emit(connector.Event{Kind: connector.EventInfo, Message: msg})
	}
	n.m = newMetrics(n)
	n.startJournal(ctx)
	if opts.HealthAddr != "-" {
		if n.health, err = startHealth(n); err != nil {
			n.log.Warn("health server not started", "err", err)
		}
	}
	n.killCtx, n.kill = context.WithCancel(context.Background())
	n.runCtx, n.stopRun = context.WithCancel(n.killCtx)
	n.watchMembers(ctx) // the baseline: a node leaving from now on triggers a sweep
	n.sweepTombstones(ctx)
	n.loop(n.fenceLoop)
	n.loop(n.claimLoop)
	n.loop(n.completeLoop)
	n.loop(n.heartbeatLoop)
	n.loop(n.blockedLoop)
	n.loop(n.wakeLoop)
	n.loop(n.healthLoop)
	n.log.Info("node started", "health", n.HealthAddr())
	n.kick()
	return n, nil
}

func (n *Node) loop(f func()) {
	n.wg.Add(1)
	go func() { defer n.wg.Done(); f() }()
}

// ID is the node's UUID (its row in the nodes table, locked_by on rows).
func (n *Node) ID() string { return n.id }

// HealthAddr is the address of /health, /metrics and /debug/state ("" when off).
func (n *Node) HealthAddr() string {
	if n.health == nil {
		return ""
	}
	return n.health.Addr()
}

// Events is the bus this node emits on.
func (n *Node) Events() *connector.Bus { return n.bus }

// Stop shuts the node down gracefully: it stops claiming, lets in-flight
// publishes finish (bounded by their lock deadline and ctx), releases rows
// it did not send, completes what was acknowledged and deletes its node row.
func (n *Node) Stop(ctx context.Context) error {
	var err error
	n.stopOnce.Do(func() {
		n.stopRun()
		// dispatch adds workers under n.mu only while running: past this
		// barrier none is added, so the Wait below does not race an Add.
		n.mu.Lock()
		n.mu.Unlock() //nolint:staticcheck // an empty critical section is the barrier
		done := make(chan struct{})
		go func() { n.workers.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
		n.kill()
		n.wg.Wait()
		n.workers.Wait()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		n.finalFlush(cctx)
		if rel := n.unsentIDs(); len(rel) > 0 {
			n.jr.many(rel, kReleased)
			if _, e := n.store.OutboxRelease(cctx, OutboxReleaseParams{Node: n.id, IDs: rel}); e != nil {
				err = fmt.Errorf("release locks: %w", e)
			}
		}
		if e := n.store.NodeDelete(cctx, NodeDeleteParams{ID: n.id}); e != nil && err == nil {
			err = fmt.Errorf("delete node row: %w", e)
		}
		n.emit(connector.Event{Kind: connector.EventLeaseLost, Message: "node stopped"})
		n.close()
		n.log.Info("node stopped")
	})
	return err
}

// Kill stops the node as a crash would: no completion, no release, node
// row left to expire. Other nodes take over once its lease and locks lapse.
func (n *Node) Kill() {
	n.stopOnce.Do(func() {
		n.kill()
		n.stopRun()
		n.wg.Wait()
		n.workers.Wait()
		n.close()
	})
}

func (n *Node) close() {
	if n.health != nil {
		n.health.Close()
	}
	n.pub.Close()
	n.store.pool.Close()
}

func (n *Node) emit(e connector.Event) {
	e.Node = n.id
	n.bus.Emit(e)
}

// kick asks the claim loop to claim now.
func (n *Node) kick() {
	select {
	case n.trigger <- struct{}{}:
	default:
	}
}

// heldCap bounds rows in memory (queued plus awaiting completion) of
// channels that are not retrying: rows of a channel waiting to retry its
// head do not count, so they never stop claims for other channels.
func (n *Node) heldCap() int { return 4 * n.opts.BatchSize }

// channelCap is the most rows a channel holds at once: batchSize, and when
// paced to Ably's rate no more than it can publish before its lock deadline.
func (n *Node) channelCap() int {
	c := n.opts.BatchSize
	if n.pub.Paced() {
		c = min(c, max(1, int((n.opts.LockTTL-n.opts.fenceMargin()).Seconds()*connector.RealAblyRate)))
	}
	return c
}

// claimPlanLocked computes what the next claim may take; callers hold n.mu.
// Channels that are blocked, retrying their head or full are excluded;
// channels the node holds rows of may take only what fits their cap. ok is
// false when the rows of healthy channels fill heldCap.
func (n *Node) claimPlanLocked() (p OutboxClaimParams, ok bool) {
	chanCap := n.channelCap()
	p = OutboxClaimParams{Node: n.id, LockTTL: n.opts.LockTTL, ChannelCap: chanCap, Room: map[string]int{},
		Held: n.heldLocked()}
	healthy := n.held
	for _, cs := range n.channels {
		switch {
		case cs.blocked:
			p.Exclude = append(p.Exclude, cs.name)
		case cs.attempts > 0:
			p.Exclude = append(p.Exclude, cs.name)
			healthy -= len(cs.queue)
		case len(cs.queue) >= chanCap:
			p.Exclude = append(p.Exclude, cs.name)
		case len(cs.queue) > 0:
			p.Room[cs.name] = chanCap - len(cs.queue)
		}
	}
	sort.Strings(p.Exclude)
	if healthy >= n.heldCap() {
		return p, false
	}
	p.Limit = min(n.opts.BatchSize, n.heldCap()-healthy)
	return p, true
}

// claimLoop claims whenever triggered, and again at once while claims come
// back full and there is room.
func (n *Node) claimLoop() {
	attempt := 0
	for {
		select {
		case <-n.runCtx.Done():
			return
		case <-n.trigger:
		}
		n.mu.Lock()
		params, ok := n.claimPlanLocked()
		if !ok {
			n.deferred = true
			n.deferredClaims.Add(1)
			n.mu.Unlock()
			continue
		}
		dropSeq := n.dropSeq
		n.mu.Unlock()
		more, err := n.claimRound(params, dropSeq)
		if err != nil {
			if n.runCtx.Err() != nil {
				return
			}
			n.dbError("claim", err)
			attempt++
			if !connector.Sleep(n.runCtx, backoff(n.opts.RetryMin, n.opts.RetryMax, attempt)) {
				return
			}
			n.kick()
			continue
		}
		attempt = 0
		if more {
			n.kick()
		}
	}
}

// claimRound claims once; when every candidate belonged to channels skipped
// this round (head locked elsewhere), it claims again without them, a few
// times, so one stuck channel cannot starve the channels behind it. It
// reports whether more rows are probably waiting.
func (n *Node) claimRound(params OutboxClaimParams, dropSeq uint64) (more bool, err error) {
	found := false
	defer func() {
		if found {
			n.lastFound.Store(time.Now().UnixNano())
		}
	}()
	params.CommitTimes = n.commitTS
	note := n.jr.claimStart()
	for try := 0; try < 4; try++ {
		res, err := n.store.OutboxClaim(n.runCtx, params)
		if err != nil {
			return false, err
		}
		n.pgUp.Store(true)
		if !res.Registered {
			n.share.Store("-")
			n.log.Warn("node row missing or expired: not claiming until the heartbeat registers it again")
			return false, nil
		}
		n.share.Store(fmt.Sprintf("%d/%d", res.Share, res.Nodes))
		if len(res.Rows) > 0 {
			found = true
			n.jr.claimed(res.Rows, note, time.Now())
			if rel := n.dispatch(res, dropSeq); len(rel) > 0 {
				n.jr.many(rel, kReleased)
				n.log.Info("releasing rows claimed across a lock loss; they are claimed again in order", "rows", len(rel))
				if _, err := n.store.OutboxRelease(n.runCtx, OutboxReleaseParams{Node: n.id, IDs: rel}); err != nil {
					n.dbError("release", err) // their locks lapse instead
				}
			}
			n.emit(connector.Event{Kind: connector.EventClaimed, Rows: len(res.Rows)})
			return res.Candidates >= params.Limit, nil
		}
		if len(res.Skipped) == 0 || res.Candidates < params.Limit {
			return false, nil
		}
		params.Exclude = append(append([]string{}, params.Exclude...), res.Skipped...)
	}
	return false, nil
}

func (n *Node) dbError(what string, err error) {
	n.pgUp.Store(false)
	if errors.Is(err, context.Canceled) {
		return
	}
	n.m.outboxErrors.Inc()
	n.log.Warn(what+" failed; retrying", "err", err)
}

// backoff is exponential from lo, capped at hi, with jitter in [d/2, d).
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(randInt63n(int64(d/2)+1))
}

// busy reports whether a claim found rows within the last PollInterval: the
// outbox is flowing, so notifications claim at once instead of waiting out
// the debounce window.
func (n *Node) busy() bool {
	return time.Since(time.Unix(0, n.lastFound.Load())) < n.opts.PollInterval
}

// sweepTombstones deletes tombstones left by nodes that stopped or died
// and adopts the one that must stay (the table's max) as if this node had
// left it, so it is deleted once a higher row is completed: exactly one
// processed row remains whatever the sequence of starts, stops, kills and
// reaps. Nothing is swept when processed rows are retained for debugging
// (they would all be deleted).
func (n *Node) sweepTombstones(ctx context.Context) {
	if n.opts.RetainProcessed {
		return
	}
	remaining, err := n.store.OutboxSweepTombstones(ctx)
	if err != nil {
		n.dbError("tombstone sweep", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range remaining {
		if !slices.Contains(n.tombstones, id) {
			n.tombstones = append(n.tombstones, id)
		}
	}
}
