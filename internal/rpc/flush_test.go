package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// TestEventLinesFollowAtAPace follows, over the JSON lines endpoint, a run
// that publishes its events one at a time, 20µs apart, so that the
// subscriber has caught up with each before the next: every event
// arrives, in a flush every event.WriteEvery or so rather than one an
// event.
func TestEventLinesFollowAtAPace(t *testing.T) {
	const total = 2000
	bus := testutil.NewBus(t)
	h := (&rpc.Server{Bus: bus, State: state.New()}).Handler()
	w := &lockedFlushCounter{header: http.Header{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, rpc.EventsPath+"?follow=true", nil))
	}()
	start := time.Now()
	for i := range total - 1 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
		// Long enough for the subscriber to catch up, far shorter than
		// WriteEvery (a sleep could last a millisecond).
		for at := time.Now(); time.Since(at) < 20*time.Microsecond; {
		}
	}
	testutil.Terminate(bus)
	<-done
	took := time.Since(start)
	w.mu.Lock()
	defer w.mu.Unlock()
	if lines := bytes.Count(w.body.Bytes(), []byte("\n")); lines != total {
		t.Fatalf("got %d lines, want %d", lines, total)
	}
	// One flush for the header, at most one each WriteEvery while the run
	// goes on, and the last two (of the stream, of the handler).
	if most := 3 + int(took/event.WriteEvery); w.flushes > most {
		t.Errorf("%d flushes for %d events in %v", w.flushes, total, took)
	}
	t.Logf("%d flushes for %d events in %v", w.flushes, total, took)
}

// lockedFlushCounter is a ResponseWriter that counts the flushes that
// reach it, and that a test may read while the handler still writes.
type lockedFlushCounter struct {
	mu      sync.Mutex
	header  http.Header
	body    bytes.Buffer
	flushes int
}

func (w *lockedFlushCounter) Header() http.Header { return w.header }
func (w *lockedFlushCounter) WriteHeader(int)     {}

func (w *lockedFlushCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(p)
}

func (w *lockedFlushCounter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
}
