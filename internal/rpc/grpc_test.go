package rpc

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestGRPCEventsWithGrpcurl reads the Events that the server writes
// itself for gRPC clients with grpcurl, a grpc-go client: a whole run, a
// call refused before its stream (trailers only), and a call whose
// deadline (its grpc-timeout header) passes while the run goes on.
func TestGRPCEventsWithGrpcurl(t *testing.T) {
	grpcurl := testutil.Tool(t, "grpcurl")
	ended := testutil.NewBus(t)
	for range 300 {
		ended.Publish(testutil.LogEvent("app", "a line of the build output, 100% of it"))
	}
	testutil.Terminate(ended)
	running := testutil.NewBus(t)
	running.Publish(testutil.LogEvent("app", "the only line so far"))
	call := func(srv *Server, args ...string) (string, error) {
		addr := strings.TrimPrefix(testutil.Serve(t, NewHTTPServer(srv.Handler())), "http://")
		args = append(append([]string{"-plaintext"}, args...), addr, "hoist.v1alpha2.EventService/Events")
		out, err := exec.CommandContext(t.Context(), grpcurl, args...).CombinedOutput()
		return string(out), err
	}
	out, err := call(&Server{Bus: ended, State: state.New()}, "-d", `{"after_sequence": 100}`)
	if err != nil || strings.Count(out, `"sequence"`) != 201 || !strings.Contains(out, `"terminationEvent"`) ||
		!strings.Contains(out, "100% of it") {
		t.Errorf("grpcurl Events of a finished run: %v, %d events, want 201 through the terminationEvent\n%.2000s",
			err, strings.Count(out, `"sequence"`), out)
	}
	out, err = call(&Server{Bus: ended, State: state.New()}, "-d", `{"run_id": "another"}`)
	if err == nil || !strings.Contains(out, "Code: NotFound") || !strings.Contains(out, "not another") {
		t.Errorf("grpcurl Events of another run: %v\n%s", err, out)
	}
	out, err = call(&Server{Bus: running, State: state.New()}, "-max-time", "0.5", "-d", `{}`)
	if err == nil || !strings.Contains(out, "DeadlineExceeded") || strings.Count(out, `"sequence"`) != 1 {
		t.Errorf("grpcurl Events past its deadline: %v\n%s", err, out)
	}
}

// TestGRPCEventsCompressedRequest sends the request compressed, as a
// client may, and reads the run.
func TestGRPCEventsCompressedRequest(t *testing.T) {
	bus := testutil.NewBus(t)
	bus.Publish(testutil.LogEvent("app", "one"))
	testutil.Terminate(bus)
	url := testutil.Serve(t, NewHTTPServer((&Server{Bus: bus, State: state.New()}).Handler()))
	hc, err := NewHTTPClient(ClientOptions{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	client := hoistv1alpha2connect.NewEventServiceClient(hc, url, connect.WithGRPC(), connect.WithSendGzip())
	stream, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{RunId: bus.RunID()}))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for stream.Receive() {
		n++
	}
	if err := stream.Err(); err != nil || n != 2 {
		t.Fatalf("got %d events and %v, want 2", n, err)
	}
}

// TestGRPCStatus checks the trailers of a status as connect's gRPC
// handler writes them: its code, its message percent-encoded, its
// details and metadata.
func TestGRPCStatus(t *testing.T) {
	if got := grpcStatus(nil); got.Get("Grpc-Status") != "0" || len(got) != 1 {
		t.Errorf("OK: %v", got)
	}
	got := grpcStatus(SlowConsumerError("run", 42))
	if got.Get("Grpc-Status") != "8" || got.Get("Hoist-Last-Sequence") != "42" || got.Get("Grpc-Status-Details-Bin") == "" {
		t.Errorf("slow consumer: %v", got)
	}
	if got := grpcStatus(errors.New("plain")); got.Get("Grpc-Status") != "2" || got.Get("Grpc-Message") != "plain" {
		t.Errorf("an error without a code: %v", got)
	}
	if got := grpcPercentEncode("100% done\n\u00e9"); got != "100%25 done%0A%C3%A9" {
		t.Errorf("grpcPercentEncode = %q", got)
	}
}

func TestGRPCTimeout(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"": 0, "5S": 5 * time.Second, "250m": 250 * time.Millisecond, "99999999u": 99999999 * time.Microsecond,
		"1H": time.Hour, "10n": 10,
	} {
		if got, err := grpcTimeout(v); err != nil || got != want {
			t.Errorf("grpcTimeout(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"S", "5", "5s", "-1S", "123456789S"} {
		if _, err := grpcTimeout(v); err == nil {
			t.Errorf("grpcTimeout(%q) gave no error", v)
		}
	}
}
