package sink_test

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/event/sink"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkFanout measures what one event costs from Publish to the event
// log file, with (stdout) a JSON stream sink and subs subscribers that each
// take the event's protobuf bytes, as a gRPC subscriber or the push client
// does. ns/event is wall time; cpu-ns/event is the CPU time of the whole
// process (publisher, sinks, subscribers, spiller) per event; the encodes
// per event count the JSON and protobuf encodings the bus made for all of
// them together. Without history, as in a run without an Event API server
// or a push, nothing is spilled to disk. With batch above 1, the events are
// published that many at a time, as a build's lines of one read are.
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct {
		stdout, history bool
		subs, batch     int
	}{{false, true, 0, 1}, {true, true, 0, 1}, {true, false, 0, 1}, {true, true, 4, 1}, {true, false, 0, 256}, {true, true, 1, 256}} {
		b.Run(fmt.Sprintf("file/stdout=%t/history=%t/subscribers=%d/batch=%d", tc.stdout, tc.history, tc.subs, tc.batch), func(b *testing.B) {
			var opts []event.Option
			if !tc.history {
				opts = append(opts, event.WithoutHistory())
			}
			bus := testutil.NewBus(b, opts...)
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
			// read[i] is the last sequence reader i has taken.
			read := make([]atomic.Uint32, len(sinks)+tc.subs)
			for i, s := range sinks {
				feed := sink.Start(bus, tracked(s, &read[i]))
				wg.Go(func() {
					if err := feed(b.Context()); err != nil {
						b.Error(err)
					}
				})
			}
			for i := range tc.subs {
				wg.Go(func() {
					// What a gRPC subscriber spends on an event: the
					// codec of package rpc takes the bytes the bus shares.
					if err := bus.FollowEncoded(b.Context(), 0, func(e *event.Encoded, _ bool) error {
						read[len(sinks)+i].Store(e.Seq())
						_, err := e.Proto()
						return err
					}, event.Wants(event.FormProto)); err != nil {
						b.Error(err)
					}
				})
			}
			b.ReportAllocs()
			json0, proto0 := bus.Encodes()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			evs := make([]*pb.Event, 0, tc.batch)
			for i := range b.N {
				if i%256 == 0 {
					keepUp(read, uint32(i))
				}
				ev := build(pb.Status_IN_PROGRESS, "Step 1/5 : FROM busybox")
				if tc.batch == 1 {
					bus.Publish(ev)
					continue
				}
				if evs = append(evs, ev); len(evs) == tc.batch || i == b.N-1 {
					bus.PublishAll(evs)
					evs = evs[:0]
				}
			}
			bus.End()
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
			json, proto := bus.Encodes()
			b.ReportMetric(float64(json-json0)/float64(b.N), "json-encodes/event")
			b.ReportMetric(float64(proto-proto0)/float64(b.N), "proto-encodes/event")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}

// maxLag is how far the benchmark lets a reader fall behind: well within
// the bus's memory, as in a run whose readers keep up, rather than
// measuring reads from the spill file.
const maxLag = event.DefaultMemory / 4

// keepUp waits, without spinning, until every reader is within maxLag of
// sequence last.
func keepUp(read []atomic.Uint32, last uint32) {
	for i := range read {
		for read[i].Load()+maxLag < last {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// tracked returns s, which stores in read the last sequence it was given.
func tracked(s sink.Sink, read *atomic.Uint32) sink.Sink {
	es, ok := s.(sink.EncodedSink)
	if !ok {
		return trackedSink{s, read}
	}
	return trackedEncodedSink{trackedSink{s, read}, es}
}

type trackedSink struct {
	sink.Sink
	read *atomic.Uint32
}

func (t trackedSink) Write(env *pb.Envelope) error {
	t.read.Store(env.Event.Sequence)
	return t.Sink.Write(env)
}

type trackedEncodedSink struct {
	trackedSink
	es sink.EncodedSink
}

func (t trackedEncodedSink) WriteEncoded(e *event.Encoded) error {
	t.read.Store(e.Seq())
	return t.es.WriteEncoded(e)
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (t trackedEncodedSink) Wants() event.Form { return t.es.Wants() }
