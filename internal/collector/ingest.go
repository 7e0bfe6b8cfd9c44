package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
)

// maxBatch bounds the events committed in one transaction.
const maxBatch = 4096

// pending is an event waiting for the writer, and who to tell once it is
// durable (or refused).
type pending struct {
	rec  store.Record
	done func(store.Outcome)
}

// writer commits events from every push stream in shared transactions:
// while one commit syncs to disk the next batch gathers, so that the cost
// of durability is paid per batch, not per event.
type writer struct {
	st  *store.Store
	log *slog.Logger
	in  chan pending
}

func (w *writer) run(ctx context.Context) {
	batch := make([]pending, 0, maxBatch)
	recs := make([]store.Record, 0, maxBatch)
	for {
		batch, recs = batch[:0], recs[:0]
		select {
		case p := <-w.in:
			batch = append(batch, p)
		case <-ctx.Done():
			return
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case p := <-w.in:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		outs, err := w.append(ctx, recs)
		if err != nil {
			return
		}
		for i, p := range batch {
			p.done(outs[i])
		}
	}
}

// append retries a failed commit (a database restarting, a full disk
// being cleared) with backoff until it succeeds or the collector stops.
// Meanwhile pushers wait for their acknowledgements and nothing is lost.
// A batch the database refuses for good is stored in halves, so that only
// the events it refuses are refused.
func (w *writer) append(ctx context.Context, recs []store.Record) ([]store.Outcome, error) {
	backoff := 50 * time.Millisecond
	for {
		outs, err := w.st.Append(ctx, recs)
		if err == nil {
			return outs, nil
		}
		if store.Permanent(err) {
			return w.isolate(ctx, recs, err)
		}
		w.log.Error("storing events failed; retrying", "events", len(recs), "err", err)
		select {
		case <-time.After(backoff/2 + rand.N(backoff)):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (w *writer) isolate(ctx context.Context, recs []store.Record, err error) ([]store.Outcome, error) {
	if len(recs) == 1 {
		env := recs[0].Env
		w.log.Error("the store refused an event", "run", env.EventId, "sequence", env.Event.Sequence, "err", err)
		return []store.Outcome{{Err: &refusedError{runID: env.EventId, seq: env.Event.Sequence, err: err}}}, nil
	}
	mid := len(recs) / 2
	first, err := w.append(ctx, recs[:mid])
	if err != nil {
		return nil, err
	}
	rest, err := w.append(ctx, recs[mid:])
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// refusedError is an event the database will not hold.
type refusedError struct {
	runID string
	seq   uint32
	err   error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("run %s, event %d: the store refused it: %v", e.runID, e.seq, e.err)
}

// refusal is the status that ends a push stream for an event that was
// not stored: out of order, or refused by the store.
func refusal(err error) error {
	var gap *store.GapError
	if errors.As(err, &gap) {
		return connect.NewError(connect.CodeFailedPrecondition, err)
	}
	return connect.NewError(connect.CodeInvalidArgument, err)
}

// Push implements the EventSinkService: events are validated, handed to
// the writer, and acknowledged once committed.
func (c *Collector) Push(ctx context.Context, stream *connect.BidiStream[pb.PushRequest, pb.PushResponse]) (err error) {
	a := &acker{latest: map[string]uint32{}, wake: make(chan struct{}, 1)}
	received, start := 0, time.Now()
	defer func() {
		c.log.Info("push stream ended", "peer", stream.Peer().Addr, "events", received,
			"acked", a.acked(), "took", time.Since(start).Round(time.Millisecond), "err", err)
	}()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	ackDone := make(chan error, 1)
	go func() { ackDone <- a.loop(actx, stream.Send) }()
	stop := func(err error) error {
		cancel()
		<-ackDone
		return err
	}
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			// The pusher sent everything: acknowledge it, then end.
			a.close()
			return <-ackDone
		}
		if err != nil {
			return stop(err)
		}
		if err := a.failed(); err != nil {
			return stop(refusal(err))
		}
		received++
		env := req.GetEnvelope()
		if err := Validate(env); err != nil {
			return stop(connect.NewError(connect.CodeInvalidArgument, err))
		}
		js, err := event.MarshalJSON(env)
		if err != nil {
			return stop(connect.NewError(connect.CodeInvalidArgument, err))
		}
		a.submitted()
		run := env.EventId
		select {
		case c.writer.in <- pending{rec: store.Record{Env: env, JSON: js}, done: func(o store.Outcome) { a.done(run, o) }}:
		case <-ctx.Done():
			return stop(ctx.Err())
		}
	}
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate refuses an envelope the collector will not store, saying why.
func Validate(env *pb.Envelope) error {
	if env == nil {
		return errors.New("push request without an envelope")
	}
	if !runIDPattern.MatchString(env.EventId) {
		return fmt.Errorf("event_id %q: want the run id, 1 to 64 letters, digits, '.', '_' or '-'", env.EventId)
	}
	ev := env.Event
	if ev == nil {
		return fmt.Errorf("run %s: envelope without an event", env.EventId)
	}
	if ev.Sequence == 0 {
		return fmt.Errorf("run %s: event without a sequence; sequences start at 1", env.EventId)
	}
	if err := ev.GetTimestamp().CheckValid(); err != nil {
		return fmt.Errorf("run %s, event %d: timestamp: %v", env.EventId, ev.Sequence, err)
	}
	if ev.Payload == nil {
		return fmt.Errorf("run %s, event %d: no payload; set one of %s", env.EventId, ev.Sequence, strings.Join(event.PayloadTypes, ", "))
	}
	// The command and images are columns of their own, and PostgreSQL
	// refuses a NUL in text: refuse it here, rather than fail the batch.
	if m := ev.GetMetaEvent(); m != nil {
		for _, v := range append([]string{m.Command}, m.Artifacts...) {
			if strings.ContainsRune(v, 0) {
				return fmt.Errorf("run %s, event %d: metaEvent: %q contains a NUL character", env.EventId, ev.Sequence, v)
			}
		}
	}
	return nil
}

// acker sends a push stream's acknowledgements: per run, the latest
// durable sequence, coalesced while the stream is busy.
type acker struct {
	mu      sync.Mutex
	pending int
	latest  map[string]uint32
	dirty   []string
	err     error
	closed  bool
	wake    chan struct{}
}

func (a *acker) submitted() {
	a.mu.Lock()
	a.pending++
	a.mu.Unlock()
}

func (a *acker) done(run string, o store.Outcome) {
	a.mu.Lock()
	a.pending--
	if o.Err != nil && a.err == nil {
		a.err = o.Err
	}
	if o.Acked > a.latest[run] {
		if !slices.Contains(a.dirty, run) {
			a.dirty = append(a.dirty, run)
		}
		a.latest[run] = o.Acked
	}
	a.mu.Unlock()
	a.notify()
}

// acked returns the runs and their acknowledged sequences, for the log.
func (a *acker) acked() map[string]uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.latest)
}

func (a *acker) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *acker) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.notify()
}

func (a *acker) notify() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// loop sends acknowledgements until the stream was closed by the pusher
// and everything it sent is acknowledged, or an event was refused.
func (a *acker) loop(ctx context.Context, send func(*pb.PushResponse) error) error {
	for {
		a.mu.Lock()
		resps := make([]*pb.PushResponse, 0, len(a.dirty))
		for _, run := range a.dirty {
			resps = append(resps, &pb.PushResponse{EventId: run, AckedSequence: a.latest[run]})
		}
		a.dirty = a.dirty[:0]
		err, finished := a.err, a.closed && a.pending == 0
		a.mu.Unlock()
		for _, r := range resps {
			if err := send(r); err != nil {
				return err
			}
		}
		if err != nil {
			return refusal(err)
		}
		if finished {
			return nil
		}
		select {
		case <-a.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
