// Package ingest is how pushed events reach a collector's store: Push
// validates each event of a push stream and hands it to one writer, which
// commits the events of every stream in shared transactions and tells each
// stream, through its acker, once its events are durable.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
)

// Store is what ingest needs of the collector's store.
type Store interface {
	Append(ctx context.Context, recs []store.Record) ([]store.Outcome, error)
}

// Sink is the EventSinkService of a collector. Run commits what Push
// receives.
type Sink struct {
	log           *slog.Logger
	writer        *writer
	maxEventBytes int
}

var _ hoistv1alpha2connect.EventSinkServiceHandler = (*Sink)(nil)

// New returns a sink that stores in st, refuses events of more than
// maxEventBytes in a PushBatch (Push's are bounded by the handler's read
// limit), and logs to log (nil for none).
func New(st Store, maxEventBytes int, log *slog.Logger) *Sink {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{log: log, maxEventBytes: maxEventBytes, writer: &writer{st: st, log: log, in: make(chan pending, maxBatch)}}
}

// Run commits pushed events until ctx is done; until it runs, push
// streams wait for their acknowledgements.
func (s *Sink) Run(ctx context.Context) { s.writer.run(ctx) }

// Push implements the EventSinkService: events are validated, handed to
// the writer, and acknowledged once committed.
func (s *Sink) Push(ctx context.Context, stream *connect.BidiStream[pb.PushRequest, pb.PushResponse]) error {
	var one [1]*pb.Envelope
	return s.serve(ctx, stream.Peer().Addr, stream.Send, func() ([]*pb.Envelope, error) {
		req, err := stream.Receive()
		if err != nil {
			return nil, err
		}
		one[0] = req.GetEnvelope()
		return one[:], nil
	})
}

// PushBatch implements the EventSinkService: Push with many events a
// message.
func (s *Sink) PushBatch(ctx context.Context, stream *connect.BidiStream[pb.PushBatchRequest, pb.PushResponse]) error {
	return s.serve(ctx, stream.Peer().Addr, stream.Send, func() ([]*pb.Envelope, error) {
		req, err := stream.Receive()
		if err != nil {
			return nil, err
		}
		envs := req.GetEnvelopes()
		if len(envs) == 0 {
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("a PushBatchRequest without envelopes"))
		}
		// A message may hold more than an event's limit; each event may not.
		for _, env := range envs {
			if n := proto.Size(env); n > s.maxEventBytes {
				return nil, connect.NewError(connect.CodeResourceExhausted,
					fmt.Errorf("run %s, event %d: %d bytes, larger than the collector's --max-event-bytes %d", env.GetEventId(), env.GetEvent().GetSequence(), n, s.maxEventBytes))
			}
		}
		return envs, nil
	})
}

// serve runs one push stream: each event receive returns is validated,
// handed to the writer, and acknowledged through send once committed.
func (s *Sink) serve(ctx context.Context, peer string, send func(*pb.PushResponse) error, receive func() ([]*pb.Envelope, error)) (err error) {
	a := &acker{latest: map[string]uint32{}, wake: make(chan struct{}, 1)}
	received, start := 0, time.Now()
	defer func() {
		s.log.Info("push stream ended", "peer", peer, "events", received,
			"acked", a.acked(), "took", time.Since(start).Round(time.Millisecond), "err", err)
	}()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	ackDone := make(chan error, 1)
	go func() { ackDone <- a.loop(actx, send) }()
	stop := func(err error) error {
		cancel()
		// The stream ends with err. The acknowledgements stop at the
		// cancel, or stopped before it on the same broken stream or
		// refused event that err reports, so theirs is only for the log.
		if aerr := <-ackDone; aerr != nil && !errors.Is(aerr, context.Canceled) {
			s.log.Debug("push stream: acknowledgements stopped", "peer", peer, "err", aerr)
		}
		return err
	}
	for {
		envs, err := receive()
		if errors.Is(err, io.EOF) {
			// The pusher sent everything: acknowledge it, then end.
			a.close()
			return <-ackDone
		}
		if err != nil {
			return stop(err)
		}
		for _, env := range envs {
			if err := a.failed(); err != nil {
				return stop(refusal(err))
			}
			received++
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
			case s.writer.in <- pending{rec: store.Record{Env: env, JSON: js}, done: func(o store.Outcome) { a.done(run, o) }}:
			case <-ctx.Done():
				return stop(ctx.Err())
			}
		}
	}
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
