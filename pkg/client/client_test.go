package client_test

import (
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
		if r.URL.Path == hoistv1alpha2connect.EventServiceEventsProcedure {
			calls.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	go func() {
		_ = bus.Follow(t.Context(), 0, func(env *pb.Envelope, _ bool) error { tracker.Apply(env); return nil })
	}()
	return strings.TrimPrefix(testutil.Serve(t, rpc.NewHTTPServer(counted)), "http://"), calls
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
	err = c.Events(t.Context(), nil, func(env *pb.Envelope) error {
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
		t.Errorf("%d Events calls: the server never dropped the subscriber, so resuming was not tested", n)
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proto.CloneOf(tt.req)
			var got []*pb.Envelope
			if err := c.Events(t.Context(), tt.req, func(env *pb.Envelope) error { got = append(got, env); return nil }); err != nil {
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

func TestEventsStopsWithCallbackError(t *testing.T) {
	bus := testutil.NewBus(t)
	addr, _ := server(t, bus, 0, nil)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("seen enough")
	done := make(chan error, 1)
	go func() {
		done <- c.Events(t.Context(), nil, func(*pb.Envelope) error { return stop })
	}()
	select {
	case err := <-done:
		if err != stop {
			t.Errorf("Events = %v, want the callback's error as it is", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Events went on following a live run after its callback failed")
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
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				w.Header().Set("Content-Type", "application/grpc")
				w.Header().Set("Grpc-Status", "16")
				w.WriteHeader(http.StatusOK)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	events := func(opts ...client.Option) error {
		c, err := client.New(addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c.Events(t.Context(), nil, func(*pb.Envelope) error { return nil })
	}
	if err := events(); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("without the token: %v, want Unauthenticated", err)
	}
	if err := events(client.WithToken("s3cret")); err != nil {
		t.Errorf("with the token: %v", err)
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
