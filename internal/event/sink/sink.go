// Package sink writes a run's events where the user asked: JSON lines or
// human text on stdout, filtered by level, and every event as a JSON line to
// the event log file, written as it happens. Each sink follows the bus on
// its own goroutine, so a slow terminal or disk never holds up the pipeline,
// and when it has fallen behind it writes the events at hand with one write.
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

// Run feeds every event of bus to s until the run ends or ctx is done,
// flushing whenever it has caught up with the publishers.
func Run(ctx context.Context, bus *event.Bus, s Sink) error {
	return bus.Follow(ctx, 0, func(env *pb.Envelope, more bool) error {
		if err := s.Write(env); err != nil {
			return err
		}
		if more {
			return nil
		}
		return s.Flush()
	})
}
