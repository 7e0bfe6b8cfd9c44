// Package ingest is how pushed events reach a collector's store: Push
// validates each event of a push stream and hands it to one writer, which
// commits the events of every stream in shared transactions and tells each
// stream, through its acker, once its events are durable.
package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"connectrpc.com/connect"

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
	log    *slog.Logger
	writer *writer
}

var _ hoistv1alpha2connect.EventSinkServiceHandler = (*Sink)(nil)

// New returns a sink that stores in st and logs to log (nil for none).
func New(st Store, log *slog.Logger) *Sink {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{log: log, writer: &writer{st: st, log: log, in: make(chan pending, maxBatch)}}
}

// Run commits pushed events until ctx is done; until it runs, push
// streams wait for their acknowledgements.
func (s *Sink) Run(ctx context.Context) { s.writer.run(ctx) }

// Push implements the EventSinkService: events are validated, handed to
// the writer, and acknowledged once committed.
func (s *Sink) Push(ctx context.Context, stream *connect.BidiStream[pb.PushRequest, pb.PushResponse]) (err error) {
	a := &acker{latest: map[string]uint32{}, wake: make(chan struct{}, 1)}
	received, start := 0, time.Now()
	defer func() {
		s.log.Info("push stream ended", "peer", stream.Peer().Addr, "events", received,
			"acked", a.acked(), "took", time.Since(start).Round(time.Millisecond), "err", err)
	}()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	ackDone := make(chan error, 1)
	go func() { ackDone <- a.loop(actx, stream.Send) }()
	stop := func(err error) error {
		cancel()
		// The stream ends with err. The acknowledgements stop at the
		// cancel, or stopped before it on the same broken stream or
		// refused event that err reports, so theirs is only for the log.
		if aerr := <-ackDone; aerr != nil && !errors.Is(aerr, context.Canceled) {
			s.log.Debug("push stream: acknowledgements stopped", "peer", stream.Peer().Addr, "err", aerr)
		}
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
		case s.writer.in <- pending{rec: store.Record{Env: env, JSON: js}, done: func(o store.Outcome) { a.done(run, o) }}:
		case <-ctx.Done():
			return stop(ctx.Err())
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
