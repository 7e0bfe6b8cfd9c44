package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
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

func eventsClient(t testing.TB, url string) hoistv1alpha2connect.EventServiceClient {
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return hoistv1alpha2connect.NewEventServiceClient(hc, url, connect.WithGRPC())
}

// collect reads a stream to its end and returns the sequences and the error.
func collect(stream *connect.ServerStreamForClient[pb.Envelope]) ([]uint32, error) {
	var seqs []uint32
	for stream.Receive() {
		seqs = append(seqs, stream.Msg().Event.Sequence)
	}
	return seqs, stream.Err()
}

func TestEventsMidRunFromZero(t *testing.T) {
	bus := testutil.NewBus(t, event.WithMemory(1024))
	url := testutil.Serve(t, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New()}).Handler()))
	for i := range 500 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	client := eventsClient(t, url)
	stream, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := range 500 {
			bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", 500+i)))
		}
		testutil.Terminate(bus)
	}()
	seqs, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 1001 {
		t.Fatalf("got %d events, want 1001", len(seqs))
	}
	for i, s := range seqs {
		if s != uint32(i+1) {
			t.Fatalf("event %d has sequence %d", i, s)
		}
	}
}

func TestEventsFiltersAndHistoryOnly(t *testing.T) {
	bus := testutil.NewBus(t, event.WithMemory(1024))
	url := testutil.Serve(t, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New()}).Handler()))
	bus.Publish(&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build"}}})
	for i := range 10 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED}}})
	client := eventsClient(t, url)
	stream, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{HistoryOnly: true,
		Filter: &pb.EventFilter{Types: []string{"buildEvent"}, Statuses: []pb.Status{pb.Status_FAILED}}}))
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := collect(stream)
	if err != nil || len(seqs) != 1 || seqs[0] != 12 {
		t.Fatalf("filtered history = %v, %v; want [12]", seqs, err)
	}
	_, err = collect(must(client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{Filter: &pb.EventFilter{Types: []string{"nope"}}}))))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("unknown type: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A subscriber that falls well behind a burst of events, more than the
// bus's memory and the flow-control windows hold, but that then reads on,
// is not cut with the default queue: it gets every event of the run.
func TestDefaultQueueHoldsABurst(t *testing.T) {
	const burst = 20_000 // 12 MiB: more than the HTTP/2 windows
	bus := testutil.NewBus(t)
	url := testutil.Serve(t, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New()}).Handler()))
	stream, err := eventsClient(t, url).Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	bus.Publish(testutil.LogEvent("app", "the first line"))
	if !stream.Receive() {
		t.Fatal(stream.Err())
	}
	got := []uint32{stream.Msg().Event.Sequence}
	pad := strings.Repeat("x", 600)
	for i := range burst {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d %s", i, pad)))
	}
	testutil.Terminate(bus)
	rest, err := collect(stream)
	if err != nil {
		t.Fatalf("after %d events the stream ended with %v, want the whole run", len(got)+len(rest), err)
	}
	got = append(got, rest...)
	if len(got) != burst+2 {
		t.Fatalf("the subscriber got %d events, want %d", len(got), burst+2)
	}
}

// TestStalledSubscriber checks that a subscriber that stops reading does
// not hold up the run, is ended with the resumable status, and after
// resuming has every event exactly once.
func TestStalledSubscriber(t *testing.T) {
	const total = 20_000
	baseline := testutil.NewBus(t, event.WithMemory(1024))
	start := time.Now()
	for i := range total {
		baseline.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	alone := time.Since(start)
	bus := testutil.NewBus(t, event.WithMemory(1024))
	url := testutil.Serve(t, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New(), Queue: 512}).Handler()))
	client := eventsClient(t, url)
	ctx := t.Context()
	stream, err := client.Events(ctx, connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", 0)))
	if !stream.Receive() {
		t.Fatal(stream.Err())
	}
	got := []uint32{stream.Msg().Event.Sequence}
	// The subscriber stalls now; the run goes on and must finish without it.
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		for i := range total - 2 {
			bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i+1)))
		}
		testutil.Terminate(bus)
		done <- time.Since(start)
	}()
	select {
	case took := <-done:
		t.Logf("published %d events in %v while a subscriber stalled, %v with no subscriber", total, took, alone)
	case <-time.After(60 * time.Second):
		t.Fatal("the run waited on a stalled subscriber")
	}
	seqs, err := collect(stream)
	got = append(got, seqs...)
	sc, ok := rpc.SlowConsumerOf(err)
	if !ok {
		t.Fatalf("stalled subscriber ended with %v, want RESOURCE_EXHAUSTED with a SlowConsumer detail", err)
	}
	if sc.LastSequence != got[len(got)-1] || sc.EventId != bus.RunID() {
		t.Fatalf("SlowConsumer = %v, last received %d", sc, got[len(got)-1])
	}
	resumed, err := collect(must(client.Events(ctx, connect.NewRequest(&pb.EventsRequest{AfterSequence: sc.LastSequence}))))
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, resumed...)
	if len(got) != total {
		t.Fatalf("received %d events in all, want %d", len(got), total)
	}
	for i, s := range got {
		if s != uint32(i+1) {
			t.Fatalf("event %d has sequence %d", i, s)
		}
	}
}

// memSink is an EventSinkService that keeps each (event_id, sequence)
// once and acknowledges the contiguous prefix after each message.
type memSink struct {
	mu       sync.Mutex
	stored   map[uint32]int
	received int // messages
	acked    uint32
}

func (m *memSink) Push(ctx context.Context, stream *connect.BidiStream[pb.PushRequest, pb.PushResponse]) error {
	return serveSink(stream, func(req *pb.PushRequest) []*pb.Envelope { return []*pb.Envelope{req.GetEnvelope()} }, m.store)
}

func (m *memSink) PushBatch(ctx context.Context, stream *connect.BidiStream[pb.PushBatchRequest, pb.PushResponse]) error {
	return serveSink(stream, (*pb.PushBatchRequest).GetEnvelopes, m.store)
}

// store keeps the events of one message and returns the acknowledgement.
func (m *memSink) store(envs []*pb.Envelope) *pb.PushResponse {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.received++
	for _, env := range envs {
		seq := env.GetEvent().GetSequence()
		if m.stored[seq] == 0 {
			m.stored[seq] = 1
		}
	}
	for m.stored[m.acked+1] > 0 {
		m.acked++
	}
	return &pb.PushResponse{EventId: envs[len(envs)-1].GetEventId(), AckedSequence: m.acked}
}

// serveSink receives the messages of a push stream, hands the events of
// each to store, and sends its acknowledgement.
func serveSink[Req any](stream *connect.BidiStream[Req, pb.PushResponse], envelopes func(*Req) []*pb.Envelope, store func([]*pb.Envelope) *pb.PushResponse) error {
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(store(envelopes(req))); err != nil {
			return err
		}
	}
}

// singleSink is a sink that has Push only, as sinks written before
// PushBatch do.
type singleSink struct {
	hoistv1alpha2connect.UnimplementedEventSinkServiceHandler
	*memSink
}

func (s singleSink) Push(ctx context.Context, stream *connect.BidiStream[pb.PushRequest, pb.PushResponse]) error {
	return s.memSink.Push(ctx, stream)
}

func (s singleSink) PushBatch(ctx context.Context, stream *connect.BidiStream[pb.PushBatchRequest, pb.PushResponse]) error {
	return s.UnimplementedEventSinkServiceHandler.PushBatch(ctx, stream)
}

// TestPushSurvivesSinkRestarts kills the sink mid-run, at random points,
// several times, and checks that it ends with every sequence exactly once:
// with a sink that takes batches, and with one that has Push only.
func TestPushSurvivesSinkRestarts(t *testing.T) {
	for _, batches := range []bool{true, false} {
		t.Run(fmt.Sprintf("batches=%t", batches), func(t *testing.T) {
			sink := &memSink{stored: map[uint32]int{}}
			var h hoistv1alpha2connect.EventSinkServiceHandler = sink
			if !batches {
				h = singleSink{memSink: sink}
			}
			received := pushThroughRestarts(t, h, sink)
			const total = pushRestartEvents
			// A sink with batches gets far fewer messages than events.
			if batches && received > total/4 || !batches && received < total {
				t.Errorf("the sink received %d messages for %d events", received, total)
			}
		})
	}
}

const pushRestartEvents = 20_000

// pushThroughRestarts pushes a run of pushRestartEvents events to h,
// whose events are kept in sink, killing and restarting h's server at
// five random points. It checks that sink stored and acknowledged the
// whole run, and returns how many messages it received.
func pushThroughRestarts(t *testing.T, h hoistv1alpha2connect.EventSinkServiceHandler, sink *memSink) int {
	const total = pushRestartEvents
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventSinkServiceHandler(h))
	// Each server's Serve ends when it is killed: the first, and one
	// started after each kill.
	served := make(chan error, 6)
	start := func(ln net.Listener) *http.Server {
		srv := rpc.NewHTTPServer(mux)
		go func() { served <- srv.Serve(ln) }()
		return srv
	}
	srv := start(ln)
	bus := testutil.NewBus(t, event.WithMemory(1024))
	p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: addr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go p.Run(ctx)
	r := rand.New(rand.NewPCG(7, 7))
	kills := map[int]bool{}
	for len(kills) < 5 {
		kills[r.IntN(total)] = true
	}
	for i := range total {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
		if kills[i] {
			if err := srv.Close(); err != nil {
				t.Fatalf("killing the sink: %v", err)
			}
			time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			srv = start(ln)
		}
	}
	testutil.Terminate(bus)
	if left := p.Flush(t.Context(), 30*time.Second); left != 0 {
		t.Fatalf("%d events not acknowledged", left)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("closing the sink: %v", err)
	}
	for range cap(served) {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving the sink: %v", err)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// Every event, and the terminationEvent.
	if len(sink.stored) != total+1 || sink.acked != total+1 {
		t.Fatalf("sink stored %d events, acked %d, want %d", len(sink.stored), sink.acked, total+1)
	}
	t.Logf("sink received %d messages for %d events across 5 restarts", sink.received, total)
	return sink.received
}

func TestPushNeverBlocksTheRun(t *testing.T) {
	bus := testutil.NewBus(t, event.WithMemory(1024))
	// Nothing listens here.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: addr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go p.Run(t.Context())
	for i := range 10_000 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	testutil.Terminate(bus)
	if left := p.Flush(t.Context(), 200*time.Millisecond); left != 10_001 {
		t.Errorf("undelivered = %d, want 10001", left)
	}
	if err := p.Check(t.Context(), time.Second); err == nil {
		t.Error("Check found an unreachable sink reachable")
	}
}
