package event_test

import (
	"fmt"
	"sync"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkPublish measures events per second through the bus to in-memory
// subscribers that read every event, with the run's history spilling to disk.
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{0, 1, 16} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			bus := testutil.NewBus(b)
			var wg sync.WaitGroup
			for range subs {
				wg.Go(func() {
					if err := bus.Follow(b.Context(), 0, func(*pb.Envelope, bool) error { return nil }); err != nil {
						b.Error(err)
					}
				})
			}
			ev := func() *pb.Event { return testutil.LogEvent("my-app", "Step 1/5 : FROM busybox") }
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bus.Publish(ev())
			}
			bus.End()
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
