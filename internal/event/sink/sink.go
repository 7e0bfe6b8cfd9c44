// Package sink writes a run's events where the user asked: JSON lines or
// human text on stdout, filtered by level, and every event as a JSON line to
// the event log file, written as it happens. Each sink follows the bus on
// its own goroutine, so a slow terminal or disk never holds up the pipeline,
// and when it has fallen behind it writes the events at hand with one write
// for many.
package sink

import (
	"context"
	"errors"

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

// Run feeds every event of bus to s until the run ends or ctx is done, as
// the function Start returns does.
func Run(ctx context.Context, bus *event.Bus, s Sink) error {
	return Start(bus, s)(ctx)
}

// Start subscribes s to every event of bus, now, and returns the function
// that feeds them to it until the run ends or ctx is done, the events at
// hand at once, flushing whenever it has caught up with the publishers, at
// most once each event.WriteEvery unless it has maxPending events or the
// run's last (see event.Pacer), and after maxPending events while it has
// not caught up. An EncodedSink is given the event's shared encoded forms.
// A sink started before the run's first event misses nothing even on a bus
// without history, however late it runs. A sink paces the run's
// publishers (event.Paces): one that falls a memory's worth of events
// behind holds them back rather than read its events back from disk.
func Start(bus *event.Bus, s Sink) func(ctx context.Context) error {
	opts := []event.SubscribeOption{event.Paces()}
	es, encoded := s.(EncodedSink)
	if encoded && es.Wants() != 0 {
		opts = append(opts, event.Wants(es.Wants()))
	}
	sub := bus.Follower(0, opts...)
	return func(ctx context.Context) error {
		defer sub.Close()
		pending := 0
		var timedErr error // of a write the pacer made
		pace := event.NewPacer(func() {
			pending = 0
			timedErr = s.Flush()
		})
		// write writes what is pending now, with the pacer's lock held.
		write := func() error {
			pending = 0
			pace.Wrote()
			return s.Flush()
		}
		err := sub.EachBatch(ctx, func(evs []*event.Encoded) error {
			pace.Lock()
			defer pace.Unlock()
			if timedErr != nil {
				return timedErr
			}
			for _, e := range evs {
				var err error
				if encoded {
					err = es.WriteEncoded(e)
				} else {
					err = s.Write(e.Env())
				}
				if err != nil {
					return err
				}
				if pending++; pending == maxPending {
					if err := write(); err != nil {
						return err
					}
				}
			}
			// Caught up but soon after the last write, the pacer
			// writes these with the events that come meanwhile.
			if pending == 0 || !evs[len(evs)-1].Terminal() && !pace.Due(event.WriteEvery) {
				return nil
			}
			return write()
		})
		pace.Lock()
		defer pace.Unlock()
		pace.Stop()
		if timedErr == nil && pending > 0 {
			// The run ended, or ctx, with events the pacer held.
			err = errors.Join(err, s.Flush())
		}
		return errors.Join(err, timedErr)
	}
}
