package rpc_test

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
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

// endedRun serves a run of n build lines of about size bytes and its
// terminationEvent.
func endedRun(t *testing.T, n, size int) (*rpc.Server, string) {
	t.Helper()
	bus := testutil.NewBus(t)
	// Random text, which compression cannot shrink.
	pad := make([]byte, size)
	for i := range n {
		_, _ = rand.Read(pad) // crypto/rand.Read never fails
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output %x", i, pad)))
	}
	testutil.Terminate(bus)
	api := &rpc.Server{Bus: bus, State: state.New()}
	return api, testutil.Serve(t, rpc.NewHTTPServer(api.Handler()))
}

// A subscriber that keeps reading is waited for: Drain returns once it has
// been sent the terminationEvent, and it has every event.
func TestDrainWaitsForConnectedSubscribers(t *testing.T) {
	const n = 5_000
	api, url := endedRun(t, n, 40)
	stream, err := eventsClient(t, url).Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("no first event: %v", stream.Err())
	}
	cuts := make(chan []rpc.Cut, 1)
	go func() { cuts <- api.Drain(t.Context(), 30*time.Second, 0) }()
	seqs, err := collect(stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(seqs) + 1; got != n+1 {
		t.Errorf("the subscriber got %d events, want %d", got, n+1)
	}
	drained(t, cuts, 30*time.Second)
	if c := api.Drain(t.Context(), time.Millisecond, 0); len(c) != 0 {
		t.Errorf("Drain with nobody connected cut %v", c)
	}
}

// A subscriber that is not done within the bound is sent nothing more and
// ends with the resumable status; resuming after the sequence it names
// gives it every other event, each once.
func TestDrainCutsWithAResumableStatus(t *testing.T) {
	// 10 MiB of events, more than the HTTP/2 flow-control windows let the
	// server write ahead of a subscriber that does not read.
	const n = 10_000
	api, url := endedRun(t, n, 512)
	client := eventsClient(t, url)
	stream, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for len(got) < 100 && stream.Receive() {
		got = append(got, stream.Msg().Event.Sequence)
	}
	// The subscriber stops reading: the server's writes wait on flow control.
	cuts := api.Drain(t.Context(), 200*time.Millisecond, 0)
	if len(cuts) != 1 || cuts[0].Sent >= cuts[0].Last || cuts[0].Last != n+1 {
		t.Fatalf("Drain cut %v, want one subscriber short of sequence %d", cuts, n+1)
	}
	rest, err := collect(stream)
	got = append(got, rest...)
	sc, ok := rpc.SlowConsumerOf(err)
	if !ok {
		t.Fatalf("the cut stream ended with %v, want the resumable status", err)
	}
	if last := got[len(got)-1]; sc.LastSequence != last || last != cuts[0].Sent {
		t.Fatalf("the status names sequence %d; the subscriber got up to %d, Drain reported %d", sc.LastSequence, last, cuts[0].Sent)
	}
	resumeAll(t, client, got, sc.LastSequence, n+1)
}

// resumeAll resumes the stream of a subscriber that has received got,
// after sequence after, and checks that it then has the run's total events,
// every one once and in order.
func resumeAll(t *testing.T, client hoistv1alpha2connect.EventServiceClient, got []uint32, after uint32, total int) {
	t.Helper()
	resumed, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{AfterSequence: after}))
	if err != nil {
		t.Fatal(err)
	}
	rest, err := collect(resumed)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, rest...)
	if len(got) != total {
		t.Fatalf("after resuming the subscriber has %d events, want %d", len(got), total)
	}
	for i, seq := range got {
		if seq != uint32(i+1) {
			t.Fatalf("event %d has sequence %d: not every event once, in order", i, seq)
		}
	}
}

// fallBehind subscribes with client to the run of bus from its start and,
// once the subscriber has its first event, prints 10 MiB while it does not
// read: more than the flow-control windows hold, so that it falls behind
// by more than a queue of 256 and is dropped. Then the run ends. It returns
// the stream and the run's number of events.
func fallBehind(t *testing.T, bus *event.Bus, client hoistv1alpha2connect.EventServiceClient) (*connect.ServerStreamForClient[pb.Envelope], int) {
	t.Helper()
	bus.Publish(testutil.LogEvent("app", "the first line"))
	stream, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("no first event: %v", stream.Err())
	}
	const n = 10_000
	pad := make([]byte, 512)
	for i := range n {
		_, _ = rand.Read(pad)
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output %x", i, pad)))
	}
	testutil.Terminate(bus)
	return stream, n + 2
}

// readDropped reads on the stream of fallBehind to its end, which must be
// the status of a subscriber that fell behind, and returns the sequences
// it got and the one to resume after.
func readDropped(t *testing.T, stream *connect.ServerStreamForClient[pb.Envelope]) ([]uint32, uint32) {
	t.Helper()
	got := []uint32{stream.Msg().Event.Sequence}
	rest, err := collect(stream)
	got = append(got, rest...)
	sc, ok := rpc.SlowConsumerOf(err)
	if !ok {
		t.Fatalf("the stream ended with %v, want the subscriber dropped for falling behind", err)
	}
	return got, sc.LastSequence
}

// drained waits, at most timeout, for Drain's result once the
// subscribers are done, which must cut no one.
func drained(t *testing.T, cuts <-chan []rpc.Cut, timeout time.Duration) {
	t.Helper()
	select {
	case c := <-cuts:
		if len(c) != 0 {
			t.Errorf("Drain cut %v", c)
		}
	case <-time.After(timeout):
		t.Fatalf("Drain did not return within %v after the subscribers were done", timeout)
	}
}

// A subscriber that fell behind at the end of the run, and was ended to
// resume, is waited for: Drain waits resume from that end (the last
// stream's) for it to come back, then for its new stream, and it gets
// every event once. Without
// that wait, Drain returns as soon as the ended stream is gone, and the
// server would stop before the subscriber resumes.
func TestDrainWaitsForASubscriberThatFellBehind(t *testing.T) {
	for _, resume := range []time.Duration{0, 20 * time.Second} {
		t.Run(fmt.Sprint("resume=", resume), func(t *testing.T) {
			bus := testutil.NewBus(t)
			api := &rpc.Server{Bus: bus, State: state.New(), Queue: 256}
			client := eventsClient(t, testutil.Serve(t, rpc.NewHTTPServer(api.Handler())))
			stream, n := fallBehind(t, bus, client)
			cuts := make(chan []rpc.Cut, 1)
			go func() { cuts <- api.Drain(t.Context(), 30*time.Second, resume) }()

			got, last := readDropped(t, stream)
			time.Sleep(200 * time.Millisecond) // the subscriber is slow to come back
			select {
			case c := <-cuts:
				if resume > 0 {
					t.Fatalf("Drain returned (cut %v) before the subscriber resumed", c)
				}
				return // without the wait, the server stops here
			default:
				if resume == 0 {
					t.Fatal("Drain with resume 0 waits for a subscriber that fell behind")
				}
			}
			resumeAll(t, client, got, last, n)
			drained(t, cuts, 10*time.Second)
		})
	}
}

// A subscriber that fell behind while another was still streaming may
// read slowly until that one is done, sharing its machine or its process:
// Drain waits resume from the end of the last stream, not from its own.
// Counted from its own end, the wait is over before the other stream ends,
// and Drain returns then.
func TestDrainWaitsForASubscriberThatFellBehindUntilTheOthersAreDone(t *testing.T) {
	const resume = 2 * time.Second
	bus := testutil.NewBus(t)
	api := &rpc.Server{Bus: bus, State: state.New(), Queue: 256}
	client := eventsClient(t, testutil.Serve(t, rpc.NewHTTPServer(api.Handler())))
	other := api.Track("127.0.0.1:1") // streams until told to end
	stream, n := fallBehind(t, bus, client)
	cuts := make(chan []rpc.Cut, 1)
	go func() { cuts <- api.Drain(t.Context(), 30*time.Second, resume) }()

	got, last := readDropped(t, stream)
	time.Sleep(resume + 500*time.Millisecond)
	other.Done()
	time.Sleep(200 * time.Millisecond)
	select {
	case c := <-cuts:
		t.Fatalf("Drain returned (cut %v) when the other stream ended, before the subscriber that fell behind resumed", c)
	default:
	}
	resumeAll(t, client, got, last, n)
	drained(t, cuts, 10*time.Second)
}

// An event that the JSON-lines endpoint sends while more were at hand
// reaches a subscriber at once even when the filter drops all that follow.
func TestJSONLinesFlushesWhenTheRestIsFilteredOut(t *testing.T) {
	bus := testutil.NewBus(t)
	api := &rpc.Server{Bus: bus, State: state.New()}
	url := testutil.Serve(t, rpc.NewHTTPServer(api.Handler()))
	resp, err := http.Get(url + rpc.EventsPath + "?follow=true&status=FAILED")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	// The failure, then a burst the filter drops, all at once; the run
	// goes on, so nothing ends the response.
	bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED}}})
	for i := range 2000 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d", i)))
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l := <-line:
		if !strings.Contains(l, `"FAILED"`) {
			t.Fatalf("first line %q, want the failed build", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed build, followed by events the filter drops, was not sent within 5s")
	}
}
