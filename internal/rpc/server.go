// Package rpc is hoist's Event API over the network: the EventService a
// running hoist serves on --rpc-port, and the client that pushes a run's
// events to an EventSinkService such as hoist collector. RequireToken
// guards everything served on a port with the run's --rpc-token.
//
// It uses connect-go rather than grpc-go: one net/http handler answers
// gRPC (for grpcurl and generated clients in any language), gRPC-Web and
// Connect's JSON over plain HTTP (for curl and browsers) on the same port,
// without a separate gateway process or generated gateway code.
package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/jsonl"
	"github.com/hoist-dev/hoist/internal/state"
)

var jsonMarshal = protojson.MarshalOptions{}

// DefaultQueue is how far a subscriber may fall behind before it is ended
// with RESOURCE_EXHAUSTED. The bound costs hoist no memory: a subscriber
// behind the bus's memory reads the run's history from disk. It is set
// so that a subscriber that reads as fast as the run goes is not cut by
// the bursts of a build that prints faster than it reads: with 8192, curl
// on the JSON lines of a 1M-line build was cut 3 runs out of 3, after
// 239k-438k events, and with 65536 it received all 1M in 3 runs of 3.
const DefaultQueue = 1 << 16

// Server serves one run's EventService.
type Server struct {
	Bus   *event.Bus
	State *state.Tracker
	// Queue bounds each subscriber; 0 means DefaultQueue.
	Queue int
	// Control, when set, serves the ControlService of a dev session.
	Control *Control
	// Services are further services served beside hoist's own, such as
	// Skaffold's v1 and v2 APIs.
	Services []Service

	once        sync.Once
	connectOnce sync.Once
	connected   chan struct{}
	subs        subscribers
}

func (s *Server) init() {
	s.once.Do(func() { s.connected = make(chan struct{}) })
}

// Connected is closed when the first subscriber arrives.
func (s *Server) Connected() <-chan struct{} {
	s.init()
	return s.connected
}

// CompressMinBytes is the smallest message the EventService compresses
// for a client that accepts gzip (connect-go's clients all do). Events are
// mostly a line of output, a hundred bytes or so: gzip would make them no
// smaller, and setting up its compressor for each was most of the cost of
// a stream.
const CompressMinBytes = 1024

// Handler returns the HTTP handler of the Event API, with gRPC reflection
// and the standard health service. The EventService's streams, and the
// JSON lines of EventsPath, are flushed when caught up rather than after
// each event, and then at most every event.WriteEvery (see flushGate).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// The generated handler would stream *pb.Envelope; this one streams
	// the bus's events with the bytes they were already encoded to.
	methods := pb.File_hoist_v1alpha2_service_proto.Services().ByName("EventService").Methods()
	opts := connect.WithHandlerOptions(connect.WithCompressMinBytes(CompressMinBytes), PreencodedCodecs())
	mux.Handle(hoistv1alpha2connect.EventServiceEventsProcedure, gateFlushes(s.grpcEvents(connect.NewServerStreamHandler(
		hoistv1alpha2connect.EventServiceEventsProcedure, s.Events, connect.WithSchema(methods.ByName("Events")), opts))))
	mux.Handle(hoistv1alpha2connect.EventServiceGetStateProcedure, connect.NewUnaryHandler(
		hoistv1alpha2connect.EventServiceGetStateProcedure, s.GetState, connect.WithSchema(methods.ByName("GetState")), opts))
	names := []string{hoistv1alpha2connect.EventServiceName}
	if s.Control != nil {
		mux.Handle(hoistv1alpha2connect.NewControlServiceHandler(s.Control))
		names = append(names, hoistv1alpha2connect.ControlServiceName)
	}
	for _, svc := range s.Services {
		names = append(names, svc.Mount(mux)...)
	}
	HandleIntrospection(mux, names)
	mux.Handle("GET "+EventsPath, gateFlushes(http.HandlerFunc(s.serveEvents)))
	mux.HandleFunc("GET "+StatePath, s.serveState)
	return mux
}

// HandleIntrospection serves, on mux, gRPC reflection of the named
// services (with opts, such as an auth interceptor) and the standard
// health service, so that grpcurl and load balancers find their way.
func HandleIntrospection(mux *http.ServeMux, names []string, opts ...connect.HandlerOption) {
	mux.Handle(grpcreflect.NewHandlerV1(grpcreflect.NewStaticReflector(names...), opts...))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(grpcreflect.NewStaticReflector(names...), opts...))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(names...)))
}

func (s *Server) markConnected() {
	s.init()
	s.connectOnce.Do(func() { close(s.connected) })
}

func (s *Server) queue() int {
	if s.Queue == 0 {
		return DefaultQueue
	}
	return s.Queue
}

// Events implements the EventService's Events, sending each event as the
// bytes the bus shares (see PreencodedCodecs).
func (s *Server) Events(ctx context.Context, req *connect.Request[pb.EventsRequest], stream *connect.ServerStream[event.Encoded]) error {
	filter, err := s.eventsFilter(req.Msg)
	if err != nil {
		return err
	}
	// Send the headers now, so that a client's call returns before the
	// first event exists.
	if err := stream.Send(nil); err != nil {
		return err
	}
	// While more events are at hand, their flush waits for them.
	gate := flushGateFrom(ctx)
	defer gate.hold(false)
	form := event.FormProto
	if strings.Contains(req.Header().Get("Content-Type"), "json") {
		form = event.FormJSON
	}
	return s.stream(ctx, req.Peer().Addr, req.Msg.GetAfterSequence(), req.Msg.GetHistoryOnly(), filter, form,
		func(e *event.Encoded, more bool) error {
			if e == nil {
				return nil // the gate's timer flushes what it held back
			}
			gate.hold(more)
			return stream.Send(e)
		})
}

// Stream sends the events of bus after a sequence to send, ending after
// the terminationEvent, or with historyOnly after the events published so
// far. form is the one encoded form send uses, for an unfiltered stream
// (see event.Wants). more tells send whether further events are at hand,
// so that it can flush only then; when the events at hand then all fail
// the filter, send is called with a nil event and more false, to flush. A
// subscriber that falls behind is ended with SlowConsumerError; one whose
// history cannot be read back from disk, with DATA_LOSS.
func Stream(ctx context.Context, bus *event.Bus, after uint32, historyOnly bool, filter event.Filter, queue int, form event.Form, send func(e *event.Encoded, more bool) error) error {
	limit := uint32(0)
	if historyOnly {
		if limit = bus.Last(); limit <= after {
			return nil
		}
	}
	opts := []event.SubscribeOption{event.WithQueue(queue)}
	all := filter.All()
	if all {
		opts = append(opts, event.Wants(form))
	}
	sub := bus.Subscribe(after, opts...)
	defer sub.Close()
	owed := false // a flush, held back by a send with more
	for {
		e, err := sub.NextEncoded(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return subscriptionError(ctx, bus.RunID(), err)
		}
		switch more := sub.Buffered() > 0; {
		case all || filter.Match(e.Env().Event):
			if err := send(e, more); err != nil {
				return err
			}
			owed = more
		case owed && !more:
			// What was sent is held back for events that the filter then
			// dropped: flush it now.
			if err := send(nil, false); err != nil {
				return err
			}
			owed = false
		}
		if e.Terminal() || (limit > 0 && e.Seq() >= limit) {
			return nil
		}
	}
}

// subscriptionError is the status that ends a stream whose subscription
// failed with err: RESOURCE_EXHAUSTED for a subscriber that fell behind,
// CANCELED or DEADLINE_EXCEEDED when ctx ended it, and otherwise
// DATA_LOSS, the history the subscriber asked for being unreadable (the
// spill file failed to be read, decoded or written).
func subscriptionError(ctx context.Context, runID string, err error) error {
	var dropped *event.DroppedError
	if errors.As(err, &dropped) {
		return SlowConsumerError(runID, dropped.Last)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return connect.NewError(connect.CodeDeadlineExceeded, err)
		}
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeDataLoss, err)
}

// SlowConsumerError ends a subscriber that fell behind: RESOURCE_EXHAUSTED
// with a SlowConsumer detail and a header naming the last sequence given.
func SlowConsumerError(runID string, last uint32) error {
	return resumable(runID, last, fmt.Errorf("subscriber fell behind and was ended; resume with after_sequence %d", last))
}

// resumable is the status of a stream that ended before the run's last
// event and can be resumed after last, as pkg/client does by itself.
func resumable(runID string, last uint32, err error) error {
	cerr := connect.NewError(connect.CodeResourceExhausted, err)
	if d, derr := connect.NewErrorDetail(&pb.SlowConsumer{LastSequence: last, EventId: runID}); derr == nil {
		cerr.AddDetail(d)
	}
	cerr.Meta().Set(jsonl.LastSequenceHeader, strconv.FormatUint(uint64(last), 10))
	return cerr
}

// SlowConsumerOf returns the detail of a SlowConsumerError, if err is one.
func SlowConsumerOf(err error) (*pb.SlowConsumer, bool) {
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeResourceExhausted {
		return nil, false
	}
	for _, d := range cerr.Details() {
		if v, err := d.Value(); err == nil {
			if sc, ok := v.(*pb.SlowConsumer); ok {
				return sc, true
			}
		}
	}
	return nil, false
}

// GetState implements the EventService.
func (s *Server) GetState(ctx context.Context, req *connect.Request[pb.GetStateRequest]) (*connect.Response[pb.State], error) {
	if id := req.Msg.GetRunId(); id != "" && id != s.Bus.RunID() {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("this hoist serves run %s, not %s", s.Bus.RunID(), id))
	}
	return connect.NewResponse(s.State.State()), nil
}

// Listen opens the API's listener. bind is an IP address; 127.0.0.1 unless
// the user chose otherwise.
func Listen(bind string, port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(port)))
}

// NewHTTPServer returns an HTTP server for h that speaks HTTP/1.1 and
// HTTP/2 without TLS (h2c), as gRPC clients need.
func NewHTTPServer(h http.Handler) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	return &http.Server{Handler: h, Protocols: &p, ReadHeaderTimeout: 10 * time.Second}
}
