package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ably/ably-go/ably"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/internal/ablylog"
)

// latencyChannels caps the channels the latency phase spreads rows over
// (as the measurement: 10 channels).
const latencyChannels = 10

// generatorsFor is how many goroutines, each with its own connection,
// insert the latency rows: one alone tops out near 1/commit round trip, so
// one per 50 rows/s (a 20 ms commit still keeps up), 8..32. More would only
// queue on NOTIFY's commit lock.
func generatorsFor(rate float64) int {
	return max(8, min(32, int(rate/50)))
}

// latencyInsertSQL inserts one row whose data.t is the insert's clock time
// in microseconds since the epoch (the same host clock the subscriber reads).
var latencyInsertSQL = fmt.Sprintf(`INSERT INTO %s (mutation_id, channel, name, data)
VALUES ('lat-' || $1::bigint, $2, 'bench.latency',
  jsonb_build_object('i', $1::bigint, 't', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint))`, outbox)

// latencyParams say how to load the path.
type latencyParams struct {
	pool     *pgxpool.Pool // at least generatorsFor(rate) connections
	ablyAddr string
	ablyKey  string
	channels int
	rate     float64
	duration time.Duration
	progress func(done, total int64)
}

// receiver records what the subscriber got.
type receiver struct {
	mu    sync.Mutex
	seen  map[int64]bool
	got   []receipt
	count atomic.Int64
}

// receipt is one row's arrival: its index, data.t and the receipt time.
type receipt struct {
	i  int64
	t  time.Time
	at time.Time
}

func (r *receiver) onMessage(m *ably.Message) {
	now := time.Now()
	i, t, ok := latencyFields(m.Data)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[i] {
		return // a duplicate delivery counts once
	}
	r.seen[i] = true
	r.got = append(r.got, receipt{i: i, t: time.UnixMicro(t), at: now})
	r.count.Add(1)
}

// latencyFields reads {"i":…, "t":…} from a message's data, whichever
// form the SDK decoded it to.
func latencyFields(data any) (i, t int64, ok bool) {
	var m map[string]any
	switch d := data.(type) {
	case map[string]any:
		m = d
	case string:
		if json.Unmarshal([]byte(d), &m) != nil {
			return 0, 0, false
		}
	case []byte:
		if json.Unmarshal(d, &m) != nil {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	num := func(v any) (int64, bool) {
		switch x := v.(type) {
		case float64:
			return int64(x), true
		case json.Number:
			n, err := strconv.ParseInt(string(x), 10, 64)
			return n, err == nil
		}
		return 0, false
	}
	i, ok1 := num(m["i"])
	t, ok2 := num(m["t"])
	return i, t, ok1 && ok2
}

// measureLatency subscribes with ably-go to the latency channels, inserts
// rate rows/s for duration as single-row transactions from several
// connections, waits for every row to arrive (or gives up after a grace
// period) and returns the quantiles.
func measureLatency(ctx context.Context, p latencyParams) (Latency, error) {
	generators := generatorsFor(p.rate)
	res := Latency{Channels: p.channels, Generators: generators, Rate: p.rate, Seconds: p.duration.Seconds()}
	rt, err := ably.NewRealtime(append(ablylocal.ClientOptions(p.ablyAddr, p.ablyKey), ably.WithAutoConnect(false))...)
	if err != nil {
		return res, fmt.Errorf("latency subscriber: %w", err)
	}
	defer rt.Close()
	cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
	err = ablylog.AwaitConnected(cctx, rt)
	ccancel()
	if err != nil {
		return res, fmt.Errorf("latency subscriber: %w", err)
	}
	recv := &receiver{seen: map[int64]bool{}}
	names := make([]string, p.channels)
	for c := range names {
		names[c] = fmt.Sprintf("bench-lat-%d", c)
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		unsub, err := rt.Channels.Get(names[c]).SubscribeAll(actx, recv.onMessage)
		cancel()
		if err != nil {
			return res, fmt.Errorf("latency subscriber: attaching %s: %w", names[c], err)
		}
		defer unsub()
	}

	total := int64(math.Round(p.rate * p.duration.Seconds()))
	interval := time.Duration(float64(time.Second) / p.rate)
	var next, sent atomic.Int64
	var lastCommit atomic.Int64
	committed := make([]atomic.Int64, total) // unix µs when each row's COMMIT returned
	errs := make(chan error, generators)
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < generators; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
					time.Sleep(wait) // pacing to the schedule, not synchronisation
				}
				if _, err := p.pool.Exec(ctx, latencyInsertSQL, i, names[i%int64(len(names))]); err != nil {
					errs <- fmt.Errorf("latency insert: %w", err)
					return
				}
				committed[i].Store(time.Now().UnixMicro())
				sent.Add(1)
				lastCommit.Store(time.Since(start).Nanoseconds())
			}
		}()
	}
	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				if p.progress != nil {
					p.progress(recv.count.Load(), total)
				}
			}
		}
	}()
	defer close(progressDone)
	wg.Wait()
	select {
	case err := <-errs:
		return res, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Sent = int(sent.Load())
	if d := time.Duration(lastCommit.Load()); d > 0 {
		res.AchievedRate = round(float64(res.Sent)/d.Seconds(), 1)
	}
	// Wait for the stragglers: poll with a deadline (no event says "all in").
	deadline := time.Now().Add(15 * time.Second)
	for recv.count.Load() < int64(res.Sent) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	recv.mu.Lock()
	got := append([]receipt(nil), recv.got...)
	recv.mu.Unlock()
	res.Received = len(got)
	var lat, toCommit, fromCommit []time.Duration
	for _, g := range got {
		lat = append(lat, g.at.Sub(g.t))
		if g.i >= 0 && g.i < total {
			if c := committed[g.i].Load(); c != 0 {
				toCommit = append(toCommit, time.UnixMicro(c).Sub(g.t))
				fromCommit = append(fromCommit, g.at.Sub(time.UnixMicro(c)))
			}
		}
	}
	all := quantiles(lat)
	res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs = all.P50Ms, all.P90Ms, all.P99Ms, all.MaxMs
	res.Split = LatencySplit{InsertToCommit: quantiles(toCommit), CommitToReceipt: quantiles(fromCommit)}
	if p.progress != nil {
		p.progress(int64(res.Received), total)
	}
	return res, nil
}

// quantiles are the p50/p90/p99/max of ds in milliseconds (zero when empty).
func quantiles(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
	q := func(f float64) float64 {
		k := int(math.Ceil(f*float64(len(ds)))) - 1
		k = max(0, min(k, len(ds)-1))
		return round(float64(ds[k].Microseconds())/1000, 2)
	}
	return Quantiles{P50Ms: q(0.5), P90Ms: q(0.9), P99Ms: q(0.99), MaxMs: q(1)}
}
