package skaffoldapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/skaffoldapi"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// cpuTime is the CPU time of the process so far, server and client
// together: on two shared cores it is steadier than the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRun publishes a build of n output lines with the real translators'
// events around it: the metaEvent, the build's start and end, and the
// terminationEvent.
func benchRun(bus *event.Bus, n int) {
	bus.Publish(&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}}})
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}}})
	for i := range n {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("#%d [build 2/3] RUN step output bench-line %d/%d: lorem ipsum dolor sit amet", i, i, n)))
	}
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_SUCCEEDED,
		Artifact: &pb.Artifact{ImageName: "app", Tag: "registry/app:v1", Digest: "sha256:0123"}}}})
	testutil.Terminate(bus)
}

// BenchmarkV2Events measures Skaffold's v2 Events during a build of b.N
// lines, with the real translator, to one subscriber connected before the
// run starts: over the HTTP gateway (curl -N /v2/events) and over gRPC.
// It reports the events received a second, the CPU time per event of the
// whole process, and fails if the subscriber missed a line.
func BenchmarkV2Events(b *testing.B) {
	for _, transport := range []string{"gateway", "grpc"} {
		b.Run("transport="+transport, func(b *testing.B) {
			bus := testutil.NewBus(b)
			api := &rpc.Server{Bus: bus, State: state.New()}
			opts := skaffoldapi.Options{Artifacts: []skaffoldapi.Artifact{{Image: "app"}}}
			srv := skaffoldapi.NewServer(skaffoldapi.ServerOptions{
				API:   api,
				NewV1: func() skaffoldapi.Translator[*skaffoldv1.Event, *skaffoldv1.State] { return skaffoldapi.NewV1(opts) },
				NewV2: func() skaffoldapi.Translator[*skaffoldv2.Event, *skaffoldv2.State] { return skaffoldapi.NewV2(opts) },
			})
			api.Services = []rpc.Service{srv}
			b.Cleanup(srv.Close)
			url := testutil.Serve(b, rpc.NewHTTPServer(api.Handler()))
			gw := testutil.Serve(b, rpc.NewHTTPServer(srv.Gateway()))
			logs := make(chan int, 1)
			connected := make(chan struct{})
			go func() {
				var n int
				var err error
				if transport == "gateway" {
					n, err = readGateway(gw+"/v2/events", connected)
				} else {
					n, err = readGRPC(b, url, connected)
				}
				if err != nil {
					b.Error(err)
				}
				logs <- n
			}()
			<-connected
			b.ResetTimer()
			cpu0 := cpuTime(b)
			benchRun(bus, b.N)
			n := <-logs
			b.StopTimer()
			if n != b.N {
				b.Fatalf("the subscriber got %d lines of build output, want %d", n, b.N)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/event")
		})
	}
}

// readGateway reads a stream of the gateway to its end and counts its
// lines of build output.
func readGateway(url string, connected chan<- struct{}) (int, error) {
	resp, err := http.Get(url)
	close(connected)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(`bench-line`)) {
			n++
		}
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"error"`)) {
			return n, fmt.Errorf("the stream ended with %s", sc.Bytes())
		}
	}
	return n, sc.Err()
}

// readGRPC reads v2's Events over gRPC to its end and counts its lines of
// build output.
func readGRPC(b *testing.B, url string, connected chan<- struct{}) (int, error) {
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		close(connected)
		return 0, err
	}
	f := &fixture{url: url, hc: hc}
	stream, err := f.v2().Events(b.Context(), connect.NewRequest(&emptypb.Empty{}))
	close(connected)
	if err != nil {
		return 0, err
	}
	n := 0
	for stream.Receive() {
		if stream.Msg().GetSkaffoldLogEvent() != nil {
			n++
		}
	}
	return n, stream.Err()
}
