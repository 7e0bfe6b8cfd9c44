package sink_test

import (
	"path/filepath"
	"sync"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkFile measures events per second from publish to the event log
// file, written and flushed as they happen.
func BenchmarkFile(b *testing.B) {
	bus := testutil.NewBus(b)
	f, err := sink.OpenFile(filepath.Join(b.TempDir(), "events.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := sink.Run(b.Context(), bus, f); err != nil {
			b.Error(err)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bus.Publish(build(pb.Status_IN_PROGRESS, "Step 1/5 : FROM busybox"))
	}
	bus.End()
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
