// Package sink writes a run's events where the user asked: JSON lines or
// human text on stdout, filtered by level, and every event as a JSON line to
// the event log file, written as it happens. Each sink follows the bus on
// its own goroutine, so a slow terminal or disk never holds up the pipeline,
// and when it has fallen behind it writes the events at hand with one write
// for many.
package sink

import (
	"context"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// Sink receives events in order.
type Sink interface {
	// Write buffers one event.
	Write(env *pb.Envelope) error
	// Flush writes what was buffered.
	Flush() error
}

// EncodedSink is a Sink that can write the encoded forms of an event the
// bus shares with its other readers, instead of encoding it again.
type EncodedSink interface {
	Sink
	// WriteEncoded buffers one event, as Write does.
	WriteEncoded(e *event.Encoded) error
	// Wants returns the one encoded form WriteEncoded uses, or 0 when it
	// reads the envelope too.
	Wants() event.Form
}

// maxPending is how many events a sink buffers at most before it writes
// them, when it has fallen behind: enough for one write to carry many, few
// enough that its buffer stays small.
const maxPending = 1024

// Run feeds every event of bus to s until the run ends or ctx is done,
// flushing whenever it has caught up with the publishers, and after
// maxPending events while it has not. An EncodedSink is given the event's
// shared encoded forms.
func Run(ctx context.Context, bus *event.Bus, s Sink) error {
	pending := 0
	flush := func(more bool) error {
		if pending++; more && pending < maxPending {
			return nil
		}
		pending = 0
		return s.Flush()
	}
	if es, ok := s.(EncodedSink); ok {
		var opts []event.SubscribeOption
		if f := es.Wants(); f != 0 {
			opts = append(opts, event.Wants(f))
		}
		return bus.FollowEncoded(ctx, 0, func(e *event.Encoded, more bool) error {
			if err := es.WriteEncoded(e); err != nil {
				return err
			}
			return flush(more)
		}, opts...)
	}
	return bus.Follow(ctx, 0, func(env *pb.Envelope, more bool) error {
		if err := s.Write(env); err != nil {
			return err
		}
		return flush(more)
	})
}
