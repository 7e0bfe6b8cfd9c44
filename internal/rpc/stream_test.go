package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestStreamErrorCodes checks the status that ends a stream: CANCELED or
// DEADLINE_EXCEEDED only when the caller's context ended it, DATA_LOSS when
// the history it asked for cannot be read back from the spill file.
func TestStreamErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup returns the bus and the context to stream under.
		setup func(t *testing.T) (*event.Bus, context.Context)
		want  connect.Code
	}{
		{"canceled", func(t *testing.T) (*event.Bus, context.Context) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return testutil.NewBus(t, event.WithMemory(1024)), ctx
		}, connect.CodeCanceled},
		{"deadline", func(t *testing.T) (*event.Bus, context.Context) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			t.Cleanup(cancel)
			return testutil.NewBus(t, event.WithMemory(1024)), ctx
		}, connect.CodeDeadlineExceeded},
		{"spill file unreadable", func(t *testing.T) (*event.Bus, context.Context) {
			// Not testutil.NewBus, whose cleanup closes the bus again.
			bus, err := event.New(event.WithSpillDir(t.TempDir()), event.WithMemory(1024))
			if err != nil {
				t.Fatal(err)
			}
			// Far more than the bus keeps in memory, so that the oldest
			// are only in the spill file, which Close closes.
			for i := range 5000 {
				bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
			}
			if err := bus.Close(); err != nil {
				t.Fatal(err)
			}
			return bus, t.Context()
		}, connect.CodeDataLoss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus, ctx := tc.setup(t)
			err := rpc.Stream(ctx, bus, 0, false, event.Filter{}, rpc.DefaultQueue, event.FormProto, func(*event.Encoded, bool) error { return nil })
			if got := connect.CodeOf(err); got != tc.want {
				t.Fatalf("Stream ended with %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
