package rpc_test

import (
	"bufio"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkEvents measures events per second from publish to gRPC
// subscribers over loopback, each receiving every event.
func BenchmarkEvents(b *testing.B) {
	for _, subs := range []int{1, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			bus := testutil.NewBus(b, event.WithMemory(1024))
			url := testutil.Serve(b, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New(), Queue: 1 << 30}).Handler()))
			client := eventsClient(b, url)
			var ready, wg sync.WaitGroup
			for range subs {
				ready.Add(1)
				wg.Go(func() {
					stream, err := client.Events(b.Context(), connect.NewRequest(&pb.EventsRequest{}))
					ready.Done()
					if err != nil {
						b.Error(err)
						return
					}
					n := 0
					for stream.Receive() {
						n++
					}
					if err := stream.Err(); err != nil || n != b.N+1 {
						b.Errorf("subscriber got %d events, err %v", n, err)
					}
				})
			}
			ready.Wait()
			b.ResetTimer()
			for i := range b.N {
				bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
			}
			testutil.Terminate(bus)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkPush measures events per second pushed to a sink over loopback,
// counted when acknowledged.
func BenchmarkPush(b *testing.B) {
	sink := &memSink{stored: map[uint32]int{}}
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventSinkServiceHandler(sink))
	url := testutil.Serve(b, rpc.NewHTTPServer(mux))
	bus := testutil.NewBus(b, event.WithMemory(1024))
	p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: url}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	go p.Run(b.Context())
	b.ResetTimer()
	for i := range b.N {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	testutil.Terminate(bus)
	if left := p.Flush(b.Context(), 5*time.Minute); left != 0 {
		b.Fatalf("%d not acknowledged", left)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventsHTTP measures events per second from publish to
// subscribers of the plain HTTP JSON lines endpoint over loopback.
func BenchmarkEventsHTTP(b *testing.B) {
	for _, subs := range []int{1, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			bus := testutil.NewBus(b, event.WithMemory(1024))
			url := testutil.Serve(b, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New(), Queue: 1 << 30}).Handler()))
			var ready, wg sync.WaitGroup
			for range subs {
				ready.Add(1)
				wg.Go(func() {
					resp, err := http.Get(url + rpc.EventsPath + "?follow=true")
					ready.Done()
					if err != nil {
						b.Error(err)
						return
					}
					defer func() {
						if err := resp.Body.Close(); err != nil {
							b.Error(err)
						}
					}()
					sc := bufio.NewScanner(resp.Body)
					n := 0
					for sc.Scan() {
						n++
					}
					if n != b.N+1 {
						b.Errorf("subscriber got %d events, want %d", n, b.N+1)
					}
				})
			}
			ready.Wait()
			b.ResetTimer()
			for i := range b.N {
				bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
			}
			testutil.Terminate(bus)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
