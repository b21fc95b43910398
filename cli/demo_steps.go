package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
)

// The demo's channels: the writer's three, and one for the poison row.
var demoChannels = []string{"demo:orders", "demo:stock", "demo:users"}

const demoPoison = "demo:poison"

// demoWriter inserts one row every 100 ms, round-robin over demoChannels,
// as an application would.
type demoWriter struct {
	mu   sync.Mutex
	ids  map[string][]int64
	stop context.CancelFunc
	done chan struct{}
}

func (d *demo) startWriter(ctx context.Context) *demoWriter {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx)) // outlives the step; run stops it
	w := &demoWriter{ids: map[string][]int64{}, stop: cancel, done: make(chan struct{})}
	d.mu.Lock()
	d.writer = w
	d.mu.Unlock()
	go func() {
		defer close(w.done)
		for i := 0; ctx.Err() == nil; i++ {
			ch := demoChannels[i%len(demoChannels)]
			ids, err := d.s.mon.OutboxInsert(ctx, monitor.OutboxInsertParams{Channel: ch, Name: "update",
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
			if err == nil {
				w.mu.Lock()
				w.ids[ch] = append(w.ids[ch], ids...)
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

// last is the newest id the writer wrote on channel (0 before any).
func (w *demoWriter) last(channel string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := w.ids[channel]
	if len(ids) == 0 {
		return 0
	}
	return ids[len(ids)-1]
}

// receivedAbove reports whether channel received a message with an id
// above id.
func (d *demo) receivedAbove(channel string, id int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.received[channel] {
		if n, _ := strconv.ParseInt(m.ID, 10, 64); n > id {
			return true
		}
	}
	return false
}

// stuck returns the snapshot's stuck entry for channel with reason, if any.
func (d *demo) stuck(ctx context.Context, channel, reason string) (*monitor.Stuck, error) {
	snap, err := d.s.mon.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for i, st := range snap.Stuck {
		if st.Channel == channel && string(st.Reason) == reason {
			return &snap.Stuck[i], nil
		}
	}
	return nil, nil
}

// steps is the script.
func (d *demo) steps() []demoStep {
	var w *demoWriter
	var poison, behind, blocked int64
	var faultID string
	return []demoStep{
		{"sandbox", "Postgres with the LiveSync outbox, the local Ably endpoint and two connector nodes sharing the work through leases in the nodes table.", 30 * time.Second,
			func(ctx context.Context) (string, error) {
				var alive []string
				err := await(ctx, "two live nodes", func() (bool, error) {
					snap, err := d.s.mon.Snapshot(ctx)
					if err != nil {
						return false, err
					}
					alive = alive[:0]
					for _, n := range snap.Nodes {
						if n.Alive {
							alive = append(alive, n.ID[:8])
						}
					}
					return len(alive) >= 2, nil
				})
				return fmt.Sprintf("%d live nodes: %s", len(alive), strings.Join(alive, ", ")), err
			}},
		{"flow", "An application inserts 10 rows/s over demo:orders, demo:stock and demo:users; each row becomes one Ably message, in order per channel, and a subscriber receives it.", 20 * time.Second,
			func(ctx context.Context) (string, error) {
				if err := d.s.tail.AddChannels(ctx, append(append([]string(nil), demoChannels...), demoPoison)); err != nil {
					return "", err
				}
				w = d.startWriter(ctx)
				err := await(ctx, "messages on every channel", func() (bool, error) {
					for _, ch := range demoChannels {
						if !d.receivedAbove(ch, 0) {
							return false, nil
						}
					}
					return true, nil
				})
				return "messages arrive on all three channels", err
			}},
		{"node killed", "One node crashes (killed without releasing anything). Its lease lapses after 3 s and its row locks after 4 s; the other node then takes over its channels, in order, without losing a row.", 30 * time.Second,
			func(ctx context.Context) (string, error) {
				victim := d.s.group.Nodes[0]
				victim.Kill()
				killed := time.Now()
				marks := map[string]int64{}
				for _, ch := range demoChannels {
					marks[ch] = w.last(ch)
				}
				err := await(ctx, "every channel flowing again", func() (bool, error) {
					for _, ch := range demoChannels {
						if !d.receivedAbove(ch, marks[ch]) {
							return false, nil
						}
					}
					return true, nil
				})
				return fmt.Sprintf("node %s killed; every channel flowing again after %s", victim.ID()[:8], time.Since(killed).Round(100*time.Millisecond)), err
			}},
		{"rejected mutation", "The backend refuses a client's optimistic mutation: it writes a row with rejected=true and the mutation's id. Subscribers get it with x-ably-models-reject: \"true\"; a Models SDK client drops the optimistic event and rolls its view back.", 15 * time.Second,
			func(ctx context.Context) (string, error) {
				ids, err := d.s.mon.OutboxInsert(ctx, monitor.OutboxInsertParams{Channel: "demo:orders", Name: "update",
					Data: json.RawMessage(`{"qty":-1}`), MutationID: "demo-mutation-1", Rejected: true})
				if err != nil {
					return "", err
				}
				err = await(ctx, "the rejection delivered", func() (bool, error) {
					d.mu.Lock()
					defer d.mu.Unlock()
					for _, m := range d.received["demo:orders"] {
						if m.ID == strconv.FormatInt(ids[0], 10) {
							if m.Headers["x-ably-models-reject"] != "true" || m.Headers["x-ably-models-event-uuid"] != "demo-mutation-1" {
								return false, fmt.Errorf("row %d arrived with headers %v", ids[0], m.Headers)
							}
							return true, nil
						}
					}
					return false, nil
				})
				return fmt.Sprintf("row %d delivered with x-ably-models-reject: \"true\" for mutation demo-mutation-1", ids[0]), err
			}},
		{"poison row", "A 70 KB row exceeds Ably's 64 KiB message limit: Ably refuses it with 40009, a permanent error. Only its channel stops; the others keep flowing.", 20 * time.Second,
			func(ctx context.Context) (string, error) {
				big := json.RawMessage(`{"pad":"` + strings.Repeat("x", 70*1024) + `"}`)
				ids, err := d.s.mon.OutboxInsert(ctx, monitor.OutboxInsertParams{Channel: demoPoison, Name: "update", Data: big})
				if err != nil {
					return "", err
				}
				poison = ids[0]
				if ids, err = d.s.mon.OutboxInsert(ctx, monitor.OutboxInsertParams{Channel: demoPoison, Name: "update", Data: json.RawMessage(`{"after":true}`)}); err != nil {
					return "", err
				}
				behind = ids[0]
				var st *monitor.Stuck
				if err := await(ctx, "the poison row diagnosed", func() (bool, error) {
					var err error
					st, err = d.stuck(ctx, demoPoison, string(monitor.Blocked))
					return st != nil && st.ErrorCode == 40009, err
				}); err != nil {
					return "", err
				}
				mark := w.last("demo:orders")
				err = await(ctx, "demo:orders still flowing", func() (bool, error) { return d.receivedAbove("demo:orders", mark), nil })
				return fmt.Sprintf("row %d blocked with 40009; the diagnosis says: %s", poison, st.Action), err
			}},
		{"poison fixed", "Deleting the poison row (the advised fix) lets its channel resume with the row behind it.", 20 * time.Second,
			func(ctx context.Context) (string, error) {
				if _, err := d.s.mon.OutboxDelete(ctx, monitor.OutboxActionParams{IDs: []int64{poison}}); err != nil {
					return "", err
				}
				err := await(ctx, "the row behind delivered", func() (bool, error) { return d.receivedAbove(demoPoison, behind-1), nil })
				return fmt.Sprintf("row %d deleted; row %d delivered", poison, behind), err
			}},
		{"fault", "A fault rule on the local endpoint refuses demo:stock with 40160, as Ably does for a key without publish capability. The next row blocks that channel only, and the diagnosis names the fault.", 20 * time.Second,
			func(ctx context.Context) (string, error) {
				fc, err := d.s.stack.FaultClient(stack.EndpointParams{})
				if err != nil {
					return "", err
				}
				a, err := fc.Add(ctx, fault.Rule{Channel: "demo:stock", Code: 40160})
				if err != nil {
					return "", err
				}
				faultID = a.ID
				var st *monitor.Stuck
				err = await(ctx, "demo:stock blocked by the fault", func() (bool, error) {
					var err error
					st, err = d.stuck(ctx, "demo:stock", string(monitor.Blocked))
					return st != nil && st.ErrorCode == 40160, err
				})
				if err != nil {
					return "", err
				}
				blocked = st.SequenceID
				if !strings.Contains(st.Action, "fault clear") {
					return "", fmt.Errorf("the advice %q does not name the fault", st.Action)
				}
				return fmt.Sprintf("fault %s: row %d blocked with 40160; the diagnosis says: %s", faultID, blocked, st.Action), nil
			}},
		{"fault cleared", "Clearing the fault and retrying the row (the advised fix) lets demo:stock catch up, in order.", 20 * time.Second,
			func(ctx context.Context) (string, error) {
				fc, err := d.s.stack.FaultClient(stack.EndpointParams{})
				if err != nil {
					return "", err
				}
				if _, err := fc.Clear(ctx, faultID); err != nil {
					return "", err
				}
				if _, err := d.s.mon.OutboxRetry(ctx, monitor.OutboxActionParams{IDs: []int64{blocked}}); err != nil {
					return "", err
				}
				mark := w.last("demo:stock")
				err = await(ctx, "demo:stock caught up", func() (bool, error) { return d.receivedAbove("demo:stock", mark-1), nil })
				return fmt.Sprintf("fault cleared, row %d retried; demo:stock caught up", blocked), err
			}},
		{"finish", "The writer stops; the outbox drains. Every row reached the subscriber once, in order on each channel.", 30 * time.Second,
			func(ctx context.Context) (string, error) {
				w.stop()
				<-w.done
				err := await(ctx, "every row delivered", func() (bool, error) {
					for _, ch := range demoChannels {
						if !d.receivedAbove(ch, w.last(ch)-1) {
							return false, nil
						}
					}
					return true, nil
				})
				if err != nil {
					return "", err
				}
				return d.verify(w)
			}},
	}
}

// verify checks every written row arrived once and in order per channel.
func (d *demo) verify(w *demoWriter) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rows := 0
	for _, ch := range demoChannels {
		got := map[int64]int{}
		var prev int64
		for _, m := range d.received[ch] {
			id, _ := strconv.ParseInt(m.ID, 10, 64)
			if id < prev {
				return "", fmt.Errorf("%s: row %d arrived after row %d", ch, id, prev)
			}
			prev = id
			got[id]++
		}
		for _, id := range w.ids[ch] {
			rows++
			switch got[id] {
			case 0:
				return "", fmt.Errorf("%s: row %d never arrived", ch, id)
			case 1:
			default:
				return "", fmt.Errorf("%s: row %d arrived %d times", ch, id, got[id])
			}
		}
	}
	return fmt.Sprintf("%d rows written, 0 lost, 0 duplicated, order kept on every channel", rows), nil
}
