package rpc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// cpuClock reads the CPU time of the process, server and clients
// together: on two shared cores, the CPU an event costs is steadier than
// the events a second.
func cpuClock(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports msgs/s, the messages received per second, and the CPU
// time of the process per message since cpu0.
func report(b *testing.B, msgs int, unit string, cpu0 time.Duration) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), unit+"/s")
	b.ReportMetric(float64(cpuClock(b)-cpu0)/float64(msgs), "cpu-ns/"+strings.TrimSuffix(unit, "s"))
}

// publishRun publishes n build output lines and the terminationEvent.
func publishRun(bus *event.Bus, n int) {
	for i := range n {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	testutil.Terminate(bus)
}

// benchSubscribers measures how fast subs subscribers, each reading a
// run's b.N events and its terminationEvent with read, receive them over
// loopback. A finished run is published before the subscribers connect,
// a live one once they have (read calls connected then). It reports
// msgs/s, the events delivered to all subscribers together per second
// (with one subscriber, events/s).
func benchSubscribers(b *testing.B, finished bool, subs int, read func(url string, connected func()) (int, error)) {
	bus := testutil.NewBus(b)
	url := testutil.Serve(b, rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: state.New(), Queue: 1 << 30}).Handler()))
	if finished {
		publishRun(bus, b.N)
	}
	b.ResetTimer()
	cpu0 := cpuClock(b)
	var ready, wg sync.WaitGroup
	for range subs {
		ready.Add(1)
		wg.Go(func() {
			connected := sync.OnceFunc(ready.Done)
			n, err := read(url, connected)
			connected() // one that failed to connect holds nothing up
			if err != nil || n != b.N+1 {
				b.Errorf("subscriber got %d events, want %d; err %v", n, b.N+1, err)
			}
		})
	}
	if !finished {
		ready.Wait()
		publishRun(bus, b.N)
	}
	wg.Wait()
	b.StopTimer()
	report(b, subs*b.N, "msgs", cpu0)
}

// BenchmarkEvents measures the EventService's Events over gRPC, from a
// finished run and while the run publishes, to one and to 50 subscribers
// sharing one HTTP/2 connection: connect-go clients that decode each
// message into a pb.Envelope, as generated clients do (client=decode), and
// connect-go clients that take each message's bytes (client=bytes); and to
// clients that read the gRPC frames off the HTTP/2 stream themselves, as
// a relay does, each on its own connection (client=frames), which leaves
// mostly the server's own cost. A connection is served by one goroutine
// that writes its frames, so subscribers that share one share a core.
func BenchmarkEvents(b *testing.B) {
	for _, finished := range []bool{true, false} {
		for _, subs := range []int{1, 50} {
			for _, kind := range []string{"decode", "bytes", "frames"} {
				name := fmt.Sprintf("run=%s/subscribers=%d/client=%s", runName(finished), subs, kind)
				b.Run(name, func(b *testing.B) {
					if kind == "frames" {
						// Each subscriber on its own connection, as separate
						// relays or dashboards would be.
						benchSubscribers(b, finished, subs, func(url string, connected func()) (int, error) {
							return readFrames(b.Context(), h2cClient(b, url), url, connected)
						})
						return
					}
					decode := kind == "decode"
					var once sync.Once
					var client *connect.Client[pb.EventsRequest, rawMessage]
					benchSubscribers(b, finished, subs, func(url string, connected func()) (int, error) {
						once.Do(func() { client = rawEventsClient(b, url, decode) })
						stream, err := client.CallServerStream(b.Context(), connect.NewRequest(&pb.EventsRequest{}))
						if err != nil {
							return 0, err
						}
						connected()
						n := 0
						for stream.Receive() {
							n++
						}
						return n, stream.Err()
					})
				})
			}
		}
	}
}

// rawEventsClient returns a gRPC client of Events whose messages are
// their bytes, decoded into a pb.Envelope too if decode is set.
func rawEventsClient(b *testing.B, url string, decode bool) *connect.Client[pb.EventsRequest, rawMessage] {
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		b.Fatal(err)
	}
	return connect.NewClient[pb.EventsRequest, rawMessage](hc, url+hoistv1alpha2connect.EventServiceEventsProcedure,
		connect.WithGRPC(), connect.WithCodec(rawCodec{decode: decode}))
}

// h2cClient is an HTTP/2 client without TLS for the server at url.
func h2cClient(b *testing.B, url string) *http.Client {
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		b.Fatal(err)
	}
	return hc
}

// readFrames calls Events over gRPC with hc and counts the messages of the
// response, read as gRPC frames (a five-byte prefix, then the message)
// without decoding them, as a relay would. It calls connected once the
// response's headers have come, and checks the call's status.
func readFrames(ctx context.Context, hc *http.Client, url string, connected func()) (n int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+hoistv1alpha2connect.EventServiceEventsProcedure,
		bytes.NewReader([]byte{0, 0, 0, 0, 0})) // an empty EventsRequest
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, resp.Body.Close()) }()
	connected()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var prefix [5]byte
	for {
		if _, err := io.ReadFull(br, prefix[:]); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return n, err
		}
		if _, err := br.Discard(int(binary.BigEndian.Uint32(prefix[1:]))); err != nil {
			return n, err
		}
		n++
	}
	if status := resp.Trailer.Get("Grpc-Status"); status != "0" {
		return n, fmt.Errorf("grpc-status %q: %s", status, resp.Trailer.Get("Grpc-Message"))
	}
	return n, nil
}

// rawMessage is a message's bytes.
type rawMessage struct {
	data []byte
	env  pb.Envelope
}

// rawCodec is a "proto" codec that marshals requests as connect's does
// and keeps each response's bytes, decoding them too if decode is set.
type rawCodec struct {
	decode bool
}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(msg any) ([]byte, error) {
	pm, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a protobuf message", msg)
	}
	return proto.Marshal(pm)
}

func (c rawCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(*rawMessage)
	if !ok {
		return fmt.Errorf("%T is not a rawMessage", msg)
	}
	// connect reuses data's buffer for the next message.
	m.data = append(m.data[:0], data...)
	if c.decode {
		return proto.Unmarshal(data, &m.env)
	}
	return nil
}

func runName(finished bool) string {
	if finished {
		return "finished"
	}
	return "live"
}

// BenchmarkEventsHTTP measures the plain HTTP JSON lines endpoint, from a
// finished run and while the run publishes, to one subscriber and to 50.
func BenchmarkEventsHTTP(b *testing.B) {
	for _, finished := range []bool{true, false} {
		for _, subs := range []int{1, 50} {
			b.Run(fmt.Sprintf("run=%s/subscribers=%d", runName(finished), subs), func(b *testing.B) {
				benchSubscribers(b, finished, subs, func(url string, connected func()) (n int, err error) {
					resp, err := http.Get(url + rpc.EventsPath + "?follow=true")
					if err != nil {
						return 0, err
					}
					connected()
					defer func() { err = errors.Join(err, resp.Body.Close()) }()
					sc := bufio.NewScanner(resp.Body)
					for sc.Scan() {
						n++
					}
					return n, sc.Err()
				})
			})
		}
	}
}

// BenchmarkPush measures events per second pushed to a sink over
// loopback, counted when acknowledged: by a sink that acknowledges each
// message, and by one that, as the collector does, acknowledges the latest
// event whenever its previous acknowledgement has gone out; from a run
// that has finished (a sink that was away) and while the run publishes;
// to a sink with PushBatch, and to one with Push only. Each sink decodes
// every event, as a sink that stores them must.
func BenchmarkPush(b *testing.B) {
	for _, finished := range []bool{true, false} {
		for _, acks := range []string{"each", "latest"} {
			for _, batches := range []bool{true, false} {
				name := fmt.Sprintf("run=%s/acks=%s/sink=%s", runName(finished), acks, map[bool]string{true: "batches", false: "single"}[batches])
				b.Run(name, func(b *testing.B) {
					benchPush(b, finished, acks, batches)
				})
			}
		}
	}
}

func benchPush(b *testing.B, finished bool, acks string, batches bool) {
	var sink hoistv1alpha2connect.EventSinkServiceHandler = &latestSink{}
	if acks == "each" {
		sink = &memSink{stored: map[uint32]int{}}
	}
	if !batches {
		sink = singleOnly{sink}
	}
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventSinkServiceHandler(sink))
	url := testutil.Serve(b, rpc.NewHTTPServer(mux))
	bus := testutil.NewBus(b)
	p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: url}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if finished {
		publishRun(bus, b.N)
	}
	b.ResetTimer()
	cpu0 := cpuClock(b)
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	if !finished {
		publishRun(bus, b.N)
	}
	if left := p.Flush(b.Context(), 5*time.Minute); left != 0 {
		b.Fatalf("%d not acknowledged", left)
	}
	b.StopTimer()
	cancel()
	<-done
	report(b, b.N, "events", cpu0)
}

// singleOnly is a sink without PushBatch.
type singleOnly struct {
	hoistv1alpha2connect.EventSinkServiceHandler
}

func (singleOnly) PushBatch(context.Context, *connect.BidiStream[pb.PushBatchRequest, pb.PushResponse]) error {
	return connect.NewError(connect.CodeUnimplemented, errors.New("no PushBatch"))
}

// latestSink is an EventSinkService that acknowledges, as the collector
// does, from its own goroutine: the latest sequence received whenever the
// previous acknowledgement has gone out, so that the events received
// meanwhile share the next one. It trusts the pusher's order, which
// memSink checks.
type latestSink struct{}

func (latestSink) Push(ctx context.Context, stream *connect.BidiStream[pb.PushRequest, pb.PushResponse]) error {
	return serveLatest(ctx, stream, func(req *pb.PushRequest) []*pb.Envelope { return []*pb.Envelope{req.GetEnvelope()} })
}

func (latestSink) PushBatch(ctx context.Context, stream *connect.BidiStream[pb.PushBatchRequest, pb.PushResponse]) error {
	return serveLatest(ctx, stream, (*pb.PushBatchRequest).GetEnvelopes)
}

// serveLatest serves a push stream for latestSink.
func serveLatest[Req any](ctx context.Context, stream *connect.BidiStream[Req, pb.PushResponse], envelopes func(*Req) []*pb.Envelope) error {
	var (
		mu     sync.Mutex
		latest *pb.PushResponse
		closed bool
	)
	wakeUp := make(chan struct{}, 1)
	notify := func() {
		select {
		case wakeUp <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	acks := make(chan error, 1)
	go func() {
		for {
			mu.Lock()
			resp, done := latest, closed
			latest = nil
			mu.Unlock()
			if resp != nil {
				if err := stream.Send(resp); err != nil {
					acks <- err
					return
				}
				continue
			}
			if done {
				acks <- nil
				return
			}
			select {
			case <-wakeUp:
			case <-ctx.Done():
				acks <- ctx.Err()
				return
			}
		}
	}()
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			// The pusher sent everything: acknowledge it, then end.
			mu.Lock()
			closed = true
			mu.Unlock()
			notify()
			return <-acks
		}
		if err != nil {
			cancel()
			// The stream ends with err; the acknowledgements stop at the
			// cancel or on the same broken stream.
			return errors.Join(err, ignoreCanceled(<-acks))
		}
		envs := envelopes(req)
		env := envs[len(envs)-1]
		mu.Lock()
		latest = &pb.PushResponse{EventId: env.GetEventId(), AckedSequence: env.GetEvent().GetSequence()}
		mu.Unlock()
		notify()
	}
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
