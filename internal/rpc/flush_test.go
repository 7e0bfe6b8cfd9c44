package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestEventsFlushesInBatches streams a finished run over the Connect
// protocol and checks that every event arrives while the response is
// flushed a few times, not once an event.
func TestEventsFlushesInBatches(t *testing.T) {
	const total = 5000
	bus := testutil.NewBus(t)
	publishRun(bus, total-1)
	got := testutil.CallConnectStream(t, (&rpc.Server{Bus: bus, State: state.New()}).Handler(),
		"/"+hoistv1alpha2connect.EventServiceName+"/Events", []byte(`{}`), nil)
	events, end := got.Messages, got.End
	if events != total || !end {
		t.Fatalf("got %d events, end of stream %v; want %d and the end", events, end, total)
	}
	// One flush for the headers, one each time the subscription takes
	// the next few hundred events, and one every few milliseconds.
	if got.Flushes > total/20 {
		t.Errorf("%d flushes for %d events", got.Flushes, total)
	}
	t.Logf("%d flushes for %d events", got.Flushes, total)
}

// TestEventsFlushesAHeldEvent checks that an event sent while more were at
// hand reaches the subscriber even though none of those more follow it:
// here a filter drops every later event of a run still going on.
func TestEventsFlushesAHeldEvent(t *testing.T) {
	bus := testutil.NewBus(t)
	url := testutil.Serve(t, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New()}).Handler()))
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED}}})
	for i := range 1000 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := eventsClient(t, url).Events(ctx, connect.NewRequest(&pb.EventsRequest{
		Filter: &pb.EventFilter{Statuses: []pb.Status{pb.Status_FAILED}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("the failed build never arrived: %v", stream.Err())
	}
	if seq := stream.Msg().Event.Sequence; seq != 1 {
		t.Fatalf("got sequence %d, want 1", seq)
	}
}
