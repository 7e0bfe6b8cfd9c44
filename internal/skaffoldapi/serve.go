package skaffoldapi

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	"github.com/hoist-dev/hoist/api/skaffold/v1/skaffoldv1connect"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/api/skaffold/v2/skaffoldv2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// Translator turns a run's events, in order from the first, into the
// events of one of Skaffold's APIs, and folds them into that API's state:
// what NewV1 and NewV2 return.
type Translator[E, S any] interface {
	Translate(env *pb.Envelope) []E
	State() S
}

// Server serves Skaffold's v1 (proto.SkaffoldService) and v2
// (proto.v2.SkaffoldV2Service) APIs of one run: gRPC, gRPC-Web and
// Connect on the Event API's port (Mount, as an rpc.Service), and the
// paths and JSON of Skaffold's HTTP gateway (Gateway). Each stream runs
// its own translator over the bus from the run's first event, so that it
// sends the whole history, then live events; GetState asks a translator
// of its own, which catches up on the bus when asked. The control methods
// drive the dev loop set with SetController.
type Server struct {
	api   *rpc.Server
	newV1 func() Translator[*skaffoldv1.Event, *skaffoldv1.State]
	newV2 func() Translator[*skaffoldv2.Event, *skaffoldv2.State]
	dev   bool

	state1 keeper[*skaffoldv1.Event, *skaffoldv1.State, *skaffoldv1.LogEntry]
	state2 keeper[*skaffoldv2.Event, *skaffoldv2.State, *skaffoldv2.Event]
	// handled1 and handled2 are the events given to Handle, each at its
	// place in the run.
	handled1 handled[*skaffoldv1.LogEntry]
	handled2 handled[*skaffoldv2.Event]

	mu   sync.Mutex
	ctrl Controller
}

// ServerOptions are what a Server serves.
type ServerOptions struct {
	// API is the run's Event API server: the bus the streams follow, the
	// drain at the end of the run that waits for them, and the first
	// connection that --wait-for-connection waits for.
	API *rpc.Server
	// NewV1 and NewV2 return a translator from the run's first event.
	NewV1 func() Translator[*skaffoldv1.Event, *skaffoldv1.State]
	NewV2 func() Translator[*skaffoldv2.Event, *skaffoldv2.State]
	// Dev says the run is hoist dev, whose loop the control methods
	// drive once it is set; in other runs they fail with
	// FAILED_PRECONDITION.
	Dev bool
}

// NewServer returns the server of o.
func NewServer(o ServerOptions) *Server {
	s := &Server{api: o.API, newV1: o.NewV1, newV2: o.NewV2, dev: o.Dev}
	s.state1 = keeper[*skaffoldv1.Event, *skaffoldv1.State, *skaffoldv1.LogEntry]{newTranslator: o.NewV1, handled: &s.handled1,
		fold: func(tr Translator[*skaffoldv1.Event, *skaffoldv1.State], e *skaffoldv1.LogEntry) {
			if f, ok := tr.(folder[*skaffoldv1.Event]); ok {
				f.Fold(e.GetEvent())
			}
		}}
	s.state2 = keeper[*skaffoldv2.Event, *skaffoldv2.State, *skaffoldv2.Event]{newTranslator: o.NewV2, handled: &s.handled2,
		fold: func(tr Translator[*skaffoldv2.Event, *skaffoldv2.State], e *skaffoldv2.Event) {
			if f, ok := tr.(folder[*skaffoldv2.Event]); ok {
				f.Fold(e)
			}
		}}
	return s
}

var _ rpc.Service = (*Server)(nil)

// Mount implements rpc.Service: the v1 and v2 services on mux, their
// streams flushed when caught up (rpc.GateFlushes).
func (s *Server) Mount(mux *http.ServeMux) []string {
	opts := connect.WithHandlerOptions(connect.WithCompressMinBytes(rpc.CompressMinBytes))
	path, h := skaffoldv1connect.NewSkaffoldServiceHandler(v1Handler{s}, opts)
	mux.Handle(path, rpc.GateFlushes(h))
	path, h = skaffoldv2connect.NewSkaffoldV2ServiceHandler(v2Handler{s}, opts)
	mux.Handle(path, rpc.GateFlushes(h))
	return []string{skaffoldv1connect.SkaffoldServiceName, skaffoldv2connect.SkaffoldV2ServiceName}
}

// Close releases what GetState's translators hold of the bus.
func (s *Server) Close() {
	s.state1.close()
	s.state2.close()
}

// sender writes the events of one stream: send buffers one, flushing
// unless more are at hand; flush writes what send held back.
type sender[E any] struct {
	send  func(ev E, more bool) error
	flush func() error
}

// unbounded is the queue of a stream's subscription: Skaffold's clients
// cannot resume, so a stream is never dropped for falling behind; what
// has left memory is read back from disk.
const unbounded = math.MaxUint32

// follow serves one stream from peer: every event of the run, from the
// first, through translate, that keep selects, then the live ones, with
// the events given to Handle at their place, until the
// terminationEvent. Drain waits for it at the end of the run.
func follow[E any](ctx context.Context, api *rpc.Server, peer string, h *handled[E], translate func(*pb.Envelope) []E, keep func(E) bool, out sender[E]) error {
	tracked := api.Track(peer)
	defer tracked.Done()
	bus := api.Bus
	sub := bus.Subscribe(0, event.WithQueue(unbounded))
	defer sub.Close()
	var next int  // the first handled event not sent yet
	owed := false // a flush, held back by a send with more
	// sendAll sends the events keep selects, flushing after the last
	// unless moreAfter, and reports whether it sent any.
	sendAll := func(evs []E, moreAfter bool) (bool, error) {
		kept := evs
		if slices.ContainsFunc(evs, func(ev E) bool { return !keep(ev) }) {
			kept = slices.DeleteFunc(slices.Clone(evs), func(ev E) bool { return !keep(ev) })
		}
		for i, ev := range kept {
			more := moreAfter || i < len(kept)-1
			if err := out.send(ev, more); err != nil {
				return false, err
			}
			owed = more
		}
		return len(kept) > 0, nil
	}
	for {
		// The events given to Handle since the last one read.
		var inj []E
		inj, next = h.since(next, sub.Last())
		if _, err := sendAll(inj, sub.Buffered() > 0); err != nil {
			return err
		}
		e, err := h.next(ctx, sub, bus, next)
		if errors.Is(err, errHandled) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return api.SubscriptionError(ctx, err)
		}
		if err := tracked.Sent(e.Seq()); err != nil {
			return err
		}
		more := sub.Buffered() > 0
		sent, err := sendAll(translate(e.Env()), more)
		if err != nil {
			return err
		}
		if owed && !sent && !more {
			// What was sent is held back for events that came to
			// nothing: flush it now.
			if err := out.flush(); err != nil {
				return err
			}
			owed = false
		}
		if e.Terminal() {
			return nil
		}
	}
}

// errHandled stops a wait for the bus when Handle was given an event.
var errHandled = errors.New("an event was handled")

// handled are the events given to Handle, each after the sequence that
// the bus had reached, so that every stream sends them at the same place
// of the run.
type handled[E any] struct {
	mu      sync.Mutex
	evs     []E
	after   []uint32
	waiters map[*context.CancelFunc]struct{}
}

// add appends ev after sequence last and wakes the streams waiting.
func (h *handled[E]) add(ev E, last uint32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.evs = append(h.evs, ev)
	h.after = append(h.after, last)
	for cancel := range h.waiters {
		(*cancel)()
	}
}

// since returns the handled events from index from that came after
// sequence seq at the latest, and the index after them.
func (h *handled[E]) since(from int, seq uint32) ([]E, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	to := from
	for to < len(h.evs) && h.after[to] <= seq {
		to++
	}
	return h.evs[from:to], to
}

// next returns the next event of sub, or errHandled when, while it
// waits, Handle is given an event beyond the first next ones.
func (h *handled[E]) next(ctx context.Context, sub *event.Subscription, bus *event.Bus, next int) (*event.Encoded, error) {
	if sub.Buffered() > 0 || bus.Last() > sub.Last() || bus.Ended() {
		return sub.NextEncoded(ctx)
	}
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	h.mu.Lock()
	if len(h.evs) > next {
		h.mu.Unlock()
		return nil, errHandled
	}
	if h.waiters == nil {
		h.waiters = map[*context.CancelFunc]struct{}{}
	}
	h.waiters[&cancel] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.waiters, &cancel)
		h.mu.Unlock()
	}()
	e, err := sub.NextEncoded(wait)
	if err != nil && ctx.Err() == nil && wait.Err() != nil {
		return nil, errHandled
	}
	return e, err
}

// now is the timestamp of a handled event.
func now() *timestamppb.Timestamp { return timestamppb.Now() }
