package client_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
	"github.com/hoist-dev/hoist/pkg/client"
)

// server serves bus's Event API, through wrap when it is set, and returns
// its address and a count of the Events calls it answered.
func server(t *testing.T, bus *event.Bus, queue int, wrap func(http.Handler) http.Handler) (string, *atomic.Int32) {
	t.Helper()
	tracker := state.New()
	bus.Publish(&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build"}}})
	var h http.Handler = (&rpc.Server{Bus: bus, State: tracker, Queue: queue}).Handler()
	if wrap != nil {
		h = wrap(h)
	}
	calls := &atomic.Int32{}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == hoistv1alpha2connect.EventServiceEventsProcedure || r.URL.Path == rpc.EventsPath {
			calls.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	go func() {
		_ = bus.Follow(t.Context(), 0, func(env *pb.Envelope, _ bool) error { tracker.Apply(env); return nil })
	}()
	return strings.TrimPrefix(testutil.Serve(t, rpc.NewHTTPServer(counted)), "http://"), calls
}

// readers are the two ways to read a run's events: decoded, over gRPC
// (Events), and as JSON lines (EventLines), decoded here.
var readers = []struct {
	name string
	read func(c *client.Client, ctx context.Context, req *pb.EventsRequest, fn func(*pb.Envelope) error) error
}{
	{"events", func(c *client.Client, ctx context.Context, req *pb.EventsRequest, fn func(*pb.Envelope) error) error {
		return c.Events(ctx, req, fn)
	}},
	{"lines", func(c *client.Client, ctx context.Context, req *pb.EventsRequest, fn func(*pb.Envelope) error) error {
		return c.EventLines(ctx, req, func(line []byte, _ bool) error {
			env, err := event.UnmarshalJSON(line)
			if err != nil {
				return err
			}
			return fn(env)
		})
	}},
}

func sequences(envs []*pb.Envelope) []uint32 {
	out := make([]uint32, len(envs))
	for i, e := range envs {
		out[i] = e.Event.Sequence
	}
	return out
}

func upTo(n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i + 1)
	}
	return out
}

func TestEventsResumesAfterSlowConsumerDrop(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) { testResumesAfterSlowConsumerDrop(t, r.read) })
	}
}

func testResumesAfterSlowConsumerDrop(t *testing.T, read func(*client.Client, context.Context, *pb.EventsRequest, func(*pb.Envelope) error) error) {
	const total = 2_000
	bus := testutil.NewBus(t)
	addr, calls := server(t, bus, 64, nil)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	published := make(chan struct{})
	go func() {
		<-first
		for i := range total - 2 {
			bus.Publish(testutil.LogEvent("app", strings.Repeat("x", i%50)))
		}
		testutil.Terminate(bus)
		close(published)
	}()
	var got []*pb.Envelope
	err = read(c, t.Context(), nil, func(env *pb.Envelope) error {
		if len(got) == 0 {
			// Fall behind: take the rest only once the run has ended.
			close(first)
			<-published
		}
		got = append(got, env)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(upTo(total), sequences(got)); diff != "" {
		t.Errorf("sequences (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n < 2 {
		t.Errorf("%d calls: the server never dropped the subscriber, so resuming was not tested", n)
	}
}

func TestEventsRequest(t *testing.T) {
	bus := testutil.NewBus(t)
	addr, _ := server(t, bus, 0, nil)
	bus.Publish(testutil.LogEvent("app", "one"))
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED}}})
	bus.Publish(testutil.LogEvent("db", "two"))
	c, err := client.New("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  *pb.EventsRequest
		want []uint32
	}{
		{"history", &pb.EventsRequest{HistoryOnly: true}, []uint32{1, 2, 3, 4}},
		{"after", &pb.EventsRequest{HistoryOnly: true, AfterSequence: 2}, []uint32{3, 4}},
		{"filter", &pb.EventsRequest{HistoryOnly: true, Filter: &pb.EventFilter{Images: []string{"app"}, Statuses: []pb.Status{pb.Status_FAILED}}}, []uint32{3}},
	}
	for _, r := range readers {
		for _, tt := range tests {
			t.Run(r.name+"/"+tt.name, func(t *testing.T) {
				before := proto.CloneOf(tt.req)
				var got []*pb.Envelope
				if err := r.read(c, t.Context(), tt.req, func(env *pb.Envelope) error { got = append(got, env); return nil }); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, sequences(got)); diff != "" {
					t.Errorf("sequences (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(before, tt.req, protocmp.Transform()); diff != "" {
					t.Errorf("Events changed the request (-before +after):\n%s", diff)
				}
			})
		}
	}
	for _, r := range readers {
		err := r.read(c, t.Context(), &pb.EventsRequest{RunId: "no-such-run"}, func(*pb.Envelope) error { return nil })
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("%s of another run: %v, want NotFound", r.name, err)
		}
	}
}

func TestEventsStopsWithCallbackError(t *testing.T) {
	bus := testutil.NewBus(t)
	addr, _ := server(t, bus, 0, nil)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("seen enough")
	for _, r := range readers {
		done := make(chan error, 1)
		go func() {
			done <- r.read(c, t.Context(), nil, func(*pb.Envelope) error { return stop })
		}()
		select {
		case err := <-done:
			if err != stop {
				t.Errorf("%s = %v, want the callback's error as it is", r.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s went on following a live run after its callback failed", r.name)
		}
	}
}

func TestState(t *testing.T) {
	bus := testutil.NewBus(t)
	addr, _ := server(t, bus, 0, nil)
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}}})
	testutil.Terminate(bus)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	// The state follows the bus on its own goroutine.
	var st *pb.State
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if st, err = c.State(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if st.Status == pb.Status_SUCCEEDED {
			break
		}
	}
	if st.Status != pb.Status_SUCCEEDED || len(st.Artifacts) != 1 || st.Artifacts[0].Image != "app" {
		t.Errorf("state = %v", st)
	}
	_, err = c.State(t.Context(), &pb.GetStateRequest{RunId: "no-such-run"})
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("State of another run: %v, want NotFound", err)
	}
}

func TestToken(t *testing.T) {
	bus := testutil.NewBus(t)
	testutil.Terminate(bus)
	addr, _ := server(t, bus, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer s3cret" && r.URL.Path == rpc.EventsPath {
				http.Error(w, "missing or wrong token", http.StatusUnauthorized)
				return
			}
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				w.Header().Set("Content-Type", "application/grpc")
				w.Header().Set("Grpc-Status", "16")
				w.WriteHeader(http.StatusOK)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	for _, r := range readers {
		events := func(opts ...client.Option) error {
			c, err := client.New(addr, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return r.read(c, t.Context(), nil, func(*pb.Envelope) error { return nil })
		}
		if err := events(); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s without the token: %v, want Unauthenticated", r.name, err)
		}
		if err := events(client.WithToken("s3cret")); err != nil {
			t.Errorf("%s with the token: %v", r.name, err)
		}
	}
}

func TestCAFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.pem")
	if _, err := client.New("https://127.0.0.1:1", client.WithCAFile(missing)); err == nil || !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("New with a missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New("https://127.0.0.1:1", client.WithCAFile(notPEM)); err == nil {
		t.Error("New with a CA file without certificates: no error")
	}
}
