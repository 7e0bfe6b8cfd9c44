package sink_test

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkFanout measures what one event costs from Publish to the event
// log file, with (stdout) a JSON stream sink and subs subscribers that each
// take the event's protobuf bytes, as a gRPC subscriber or the push client
// does. ns/event is wall time; cpu-ns/event is the CPU time of the whole
// process (publisher, sinks, subscribers, spiller) per event.
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct {
		stdout bool
		subs   int
	}{{false, 0}, {true, 0}, {true, 4}} {
		b.Run(fmt.Sprintf("file/stdout=%t/subscribers=%d", tc.stdout, tc.subs), func(b *testing.B) {
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
			sinks := []sink.Sink{f}
			if tc.stdout {
				s, err := sink.NewStream(io.Discard, sink.JSON, slog.LevelDebug, false)
				if err != nil {
					b.Fatal(err)
				}
				sinks = append(sinks, s)
			}
			var wg sync.WaitGroup
			for _, s := range sinks {
				wg.Go(func() {
					if err := sink.Run(b.Context(), bus, s); err != nil {
						b.Error(err)
					}
				})
			}
			for range tc.subs {
				wg.Go(func() {
					if err := bus.Follow(b.Context(), 0, func(env *pb.Envelope, _ bool) error {
						_, err := protoBytes(bus, env)
						return err
					}); err != nil {
						b.Error(err)
					}
				})
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				bus.Publish(build(pb.Status_IN_PROGRESS, "Step 1/5 : FROM busybox"))
			}
			bus.End()
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}

// protoBytes is what a gRPC subscriber of bus spends on env's protobuf form.
func protoBytes(_ *event.Bus, env *pb.Envelope) ([]byte, error) {
	return proto.Marshal(env)
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
