// Package source adapts the monitor (snapshots, pages, row actions, the
// channel tail) and the connector's event buses to the dashboard's
// model.Source. It also keeps the tail attached to every channel the
// outbox or our connector mentions, so a row can be seen going in and
// coming out.
package source

import (
	"context"
	"errors"
	"sync"

	"github.com/livesync-dev/livesync-dev/ablylocal"
	"github.com/livesync-dev/livesync-dev/connector"
	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/internal/stack"
	"github.com/livesync-dev/livesync-dev/monitor"
	"github.com/livesync-dev/livesync-dev/tui/model"
)

// Options say what the dashboard reads.
type Options struct {
	// Monitor is the read side (required).
	Monitor *monitor.Monitor
	// Tail is the channel tail; nil when there is no Ably endpoint.
	Tail *monitor.Tail
	// Buses are the event buses of the connector nodes this process runs
	// (postgres.Node.Events, or one shared postgres.Options.Events).
	Buses []*connector.Bus
	// Endpoint is the Ably REST endpoint for channel occupancy; nil: none.
	Endpoint *monitor.Endpoint
	// EndpointRecords reads the local endpoint's record of a message for
	// row journeys; nil when the endpoint is not local.
	EndpointRecords monitor.EndpointRecords
	// EventBuffer is each bus subscription's buffer (default 4096).
	EventBuffer int
	// MongoDocs writes test documents into the watched collection of the
	// Mongo connector this process runs; nil: none. (The connector's state
	// comes with the monitor's snapshot, as connector.NodeState.)
	MongoDocs *mongo.Driver
	// Faults is the local endpoint's fault client (stack.Stack.FaultClient,
	// the one `livesync-dev fault` uses); nil: fault commands explain that
	// they need the local endpoint.
	Faults *ablylocal.FaultClient
	// FaultsErr says why Faults is nil (stack.Stack.FaultClient's error);
	// nil means stack.ErrFaultsNeedLocal.
	FaultsErr error
	// Stack finds and signals the connector nodes this sandbox registered
	// (stack.Stack.FindNode and SignalNode, as `connector kill`); nil: none.
	Stack *stack.Stack
	// InProcess returns the crash-stop of a node running in this process
	// (postgres.Node.Kill); ok is false for any other node.
	InProcess func(id string) (kill func(), ok bool)
}

// Source implements model.Source over the monitor and the connector.
type Source struct {
	opts   Options
	events chan connector.Event
	cancel context.CancelFunc
	ctx    context.Context

	mu       sync.Mutex
	attached map[string]bool
	unsub    []func()
}

var _ model.Source = (*Source)(nil)

// ErrNoEndpoint is returned by Occupancy without an Ably endpoint.
var ErrNoEndpoint = errors.New("no Ably endpoint for channel occupancy")

// New starts forwarding the buses' events until Close or ctx ends.
func New(ctx context.Context, opts Options) *Source {
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 4096
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Source{opts: opts, cancel: cancel, ctx: ctx, attached: map[string]bool{}}
	if len(opts.Buses) > 0 {
		s.events = make(chan connector.Event, opts.EventBuffer)
		var wg sync.WaitGroup
		for _, b := range opts.Buses {
			ch, unsub := b.Subscribe(opts.EventBuffer)
			s.unsub = append(s.unsub, unsub)
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.forward(ch)
			}()
		}
		go func() {
			wg.Wait()
			close(s.events)
		}()
	}
	return s
}

// forward passes events on, attaching the tail to each channel seen. A
// slow dashboard drops events rather than slowing the connector.
func (s *Source) forward(ch <-chan connector.Event) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			if e.Channel != "" {
				s.attach([]string{e.Channel})
			}
			select {
			case s.events <- e:
			default:
			}
		}
	}
}

// attach adds channels to the tail in the background (with rewind, so the
// message that revealed the channel is received too).
func (s *Source) attach(channels []string) {
	if s.opts.Tail == nil {
		return
	}
	var fresh []string
	s.mu.Lock()
	for _, c := range channels {
		if !s.attached[c] {
			s.attached[c] = true
			fresh = append(fresh, c)
		}
	}
	s.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	go func() {
		if err := s.opts.Tail.AddChannels(s.ctx, fresh); err != nil {
			s.mu.Lock()
			for _, c := range fresh {
				delete(s.attached, c) // try again next time
			}
			s.mu.Unlock()
		}
	}()
}

// Close stops forwarding and unsubscribes (the tail and monitor stay
// open: they belong to the caller).
func (s *Source) Close() {
	s.cancel()
	for _, u := range s.unsub {
		u()
	}
}

// Snapshot implements model.Source and attaches the tail to the channels
// with a backlog.
func (s *Source) Snapshot(ctx context.Context) (*monitor.Snapshot, error) {
	snap, err := s.opts.Monitor.Snapshot(ctx)
	if err == nil {
		s.attach(snap.ChannelNames())
	}
	return snap, err
}

// OutboxList implements model.Source.
func (s *Source) OutboxList(ctx context.Context, p monitor.OutboxListParams) ([]monitor.Row, error) {
	return s.opts.Monitor.OutboxList(ctx, p)
}

// ActionSQL implements model.Source.
func (s *Source) ActionSQL(action string, p monitor.OutboxActionParams) (string, error) {
	return s.opts.Monitor.OutboxActionSQL(action, p)
}

// Retry implements model.Source.
func (s *Source) Retry(ctx context.Context, p monitor.OutboxActionParams) (monitor.ActionResult, error) {
	return s.opts.Monitor.OutboxRetry(ctx, p)
}

// Delete implements model.Source.
func (s *Source) Delete(ctx context.Context, p monitor.OutboxActionParams) (monitor.ActionResult, error) {
	return s.opts.Monitor.OutboxDelete(ctx, p)
}

// Insert implements model.Source and attaches the tail to the channel.
func (s *Source) Insert(ctx context.Context, p monitor.OutboxInsertParams) ([]int64, error) {
	s.attach([]string{p.Channel})
	return s.opts.Monitor.OutboxInsert(ctx, p)
}

// Journey implements model.Source.
func (s *Source) Journey(ctx context.Context, q connector.JourneyQuery) (*monitor.Journey, error) {
	return s.opts.Monitor.RowJourney(ctx, monitor.JourneyParams{Query: q, Endpoint: s.opts.EndpointRecords})
}

// Occupancy implements model.Source.
func (s *Source) Occupancy(ctx context.Context, channel string) (monitor.Occupancy, error) {
	if s.opts.Endpoint == nil {
		return monitor.Occupancy{}, ErrNoEndpoint
	}
	return monitor.ChannelOccupancy(ctx, *s.opts.Endpoint, channel)
}

// TailMessages implements model.Source.
func (s *Source) TailMessages() <-chan monitor.TailMessage {
	if s.opts.Tail == nil {
		return nil
	}
	return s.opts.Tail.Messages()
}

// Events implements model.Source.
func (s *Source) Events() <-chan connector.Event {
	if s.events == nil {
		return nil
	}
	return s.events
}
