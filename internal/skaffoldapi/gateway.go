package skaffoldapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
)

// gatewayDecode reads the bodies of requests to Skaffold's HTTP gateway.
var gatewayDecode = protojson.UnmarshalOptions{DiscardUnknown: true}

// maxBody bounds a request's body: an intent, a trigger or an event.
const maxBody = 1 << 20

// Gateway returns the handler of Skaffold's HTTP API, served on
// --rpc-http-port: the paths, methods, bodies and JSON of Skaffold's
// grpc-gateway. A stream is one JSON object a line, each event as
// {"result": event}, and a status that ends it early as {"error": status};
// other replies are the message itself, or a status with the HTTP code
// grpc-gateway gives its gRPC code.
func (s *Server) Gateway() http.Handler {
	routes := map[string]map[string]http.HandlerFunc{
		"/v1/state":               {http.MethodGet: s.gwStateV1},
		"/v1/events":              {http.MethodGet: s.gwEventsV1},
		"/v1/event_log":           {http.MethodGet: s.gwEventsV1},
		"/v1/execute":             {http.MethodPost: gwExecute(s, &skaffoldv1.Intent{})},
		"/v1/build/auto_execute":  {http.MethodPut: s.gwTriggerV1(triggerBuild)},
		"/v1/sync/auto_execute":   {http.MethodPut: s.gwTriggerV1(triggerSync)},
		"/v1/deploy/auto_execute": {http.MethodPut: s.gwTriggerV1(triggerDeploy)},
		"/v1/events/handle":       {http.MethodPost: s.gwHandleV1},
		"/v2/state":               {http.MethodGet: s.gwStateV2},
		"/v2/events":              {http.MethodGet: s.gwEventsV2(notAppLog)},
		"/v2/applicationLogs":     {http.MethodGet: s.gwEventsV2(isAppLog)},
		"/v2/execute":             {http.MethodPost: gwExecute(s, &skaffoldv2.Intent{})},
		"/v2/build/auto_execute":  {http.MethodPut: s.gwTriggerV2(triggerBuild)},
		"/v2/sync/auto_execute":   {http.MethodPut: s.gwTriggerV2(triggerSync)},
		"/v2/deploy/auto_execute": {http.MethodPut: s.gwTriggerV2(triggerDeploy)},
		"/v2/events/handle":       {http.MethodPost: s.gwHandleV2},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods, ok := routes[r.URL.Path]
		if !ok {
			writeStatus(w, connect.NewError(connect.CodeNotFound, errors.New(http.StatusText(http.StatusNotFound))))
			return
		}
		h, ok := methods[r.Method]
		if !ok {
			// grpc-gateway answers a known path with another method so.
			writeStatus(w, connect.NewError(connect.CodeUnimplemented, errors.New(http.StatusText(http.StatusMethodNotAllowed))))
			return
		}
		h(w, r)
	})
}

func (s *Server) gwStateV1(w http.ResponseWriter, r *http.Request) {
	st, err := s.StateV1(r.Context())
	writeReply(w, st, err)
}

func (s *Server) gwStateV2(w http.ResponseWriter, r *http.Request) {
	st, err := s.StateV2(r.Context())
	writeReply(w, st, err)
}

func (s *Server) gwEventsV1(w http.ResponseWriter, r *http.Request) {
	out := newLineStream[*skaffoldv1.LogEntry](w)
	out.end(s.followV1(r.Context(), r.RemoteAddr, out.sender()))
}

func (s *Server) gwEventsV2(keep func(*skaffoldv2.Event) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := newLineStream[*skaffoldv2.Event](w)
		out.end(s.followV2(r.Context(), r.RemoteAddr, keep, out.sender()))
	}
}

// A stream's header goes out at once, unlike grpc-gateway's, which sends
// it with the first event: a client then knows it is connected before
// the run starts, as with --wait-for-connection. A status that ends the
// stream is then its last line, as it is after the first event in
// Skaffold's.

// gwExecute is POST /v1/execute and /v2/execute, whose body is the intent.
func gwExecute[I interface {
	proto.Message
	intent
}](s *Server, zero I) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, ok := zero.ProtoReflect().New().Interface().(I)
		if !ok {
			writeStatus(w, connect.NewError(connect.CodeInternal, fmt.Errorf("%T makes no intent", zero)))
			return
		}
		if err := readBody(r, in); err != nil {
			writeStatus(w, err)
			return
		}
		writeReply(w, nil, s.execute(in))
	}
}

// gwTriggerV1 is PUT /v1/{build,sync,deploy}/auto_execute, whose body is
// the trigger's state.
func (s *Server) gwTriggerV1(p trigger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := &skaffoldv1.TriggerState{}
		if err := readBody(r, st); err != nil {
			writeStatus(w, err)
			return
		}
		_, err := v1Handler{s}.trigger(p, &skaffoldv1.TriggerRequest{State: st})
		writeReply(w, nil, err)
	}
}

// gwTriggerV2 is PUT /v2/{build,sync,deploy}/auto_execute.
func (s *Server) gwTriggerV2(p trigger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := &skaffoldv2.TriggerState{}
		if err := readBody(r, st); err != nil {
			writeStatus(w, err)
			return
		}
		_, err := v2Handler{s}.trigger(p, &skaffoldv2.TriggerRequest{State: st})
		writeReply(w, nil, err)
	}
}

// gwHandleV1 is POST /v1/events/handle, whose body is the event.
func (s *Server) gwHandleV1(w http.ResponseWriter, r *http.Request) {
	ev := &skaffoldv1.Event{}
	if err := readBody(r, ev); err != nil {
		writeStatus(w, err)
		return
	}
	s.HandleV1(ev)
	writeReply(w, nil, nil)
}

// gwHandleV2 is POST /v2/events/handle.
func (s *Server) gwHandleV2(w http.ResponseWriter, r *http.Request) {
	ev := &skaffoldv2.Event{}
	if err := readBody(r, ev); err != nil {
		writeStatus(w, err)
		return
	}
	s.HandleV2(ev)
	writeReply(w, nil, nil)
}

// readBody decodes a request's JSON body into msg, ignoring unknown
// fields; an empty body leaves msg empty, as grpc-gateway does.
func readBody(r *http.Request, msg proto.Message) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("reading the request body: %w", err))
	}
	if len(data) > maxBody {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("the request body is larger than %d bytes", maxBody))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := gatewayDecode.Unmarshal(data, msg); err != nil {
		return connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("the body is not a %s in JSON: %w", msg.ProtoReflect().Descriptor().Name(), err))
	}
	return nil
}

// writeReply writes a unary call's reply: msg (an empty object for none)
// or err's status.
func writeReply(w http.ResponseWriter, msg proto.Message, err error) {
	if err != nil {
		writeStatus(w, err)
		return
	}
	body := []byte("{}")
	if msg != nil {
		if body, err = gatewayStyle.appendJSON(nil, msg); err != nil {
			writeStatus(w, connect.NewError(connect.CodeInternal, err))
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	// The status is sent with the write; should the client have gone,
	// there is no one left to tell.
	_, _ = w.Write(body)
}

// writeStatus writes err as grpc-gateway writes a failed call: the
// google.rpc.Status in JSON, with the HTTP status of its code.
func writeStatus(w http.ResponseWriter, err error) {
	body := appendStatus(nil, err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(httpStatus(connect.CodeOf(err)))
	_, _ = w.Write(body)
}

// rpcStatus is google.rpc.Status in the gateway's JSON.
type rpcStatus struct {
	Code    int32             `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// appendStatus appends err's status, as JSON, to dst.
func appendStatus(dst []byte, err error) []byte {
	st := rpcStatus{Code: int32(connect.CodeOf(err)), Message: err.Error(), Details: []json.RawMessage{}}
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		st.Message = cerr.Message()
		for _, d := range cerr.Details() {
			v, derr := d.Value()
			if derr != nil {
				continue
			}
			a, derr := anypb.New(v)
			if derr != nil {
				continue
			}
			if data, derr := gatewayStyle.appendJSON(nil, a); derr == nil {
				st.Details = append(st.Details, data)
			}
		}
	}
	data, merr := json.Marshal(st)
	if merr != nil {
		// A struct of a number, a string and JSON made above.
		return append(dst, `{"code":13,"message":"failed to marshal error message","details":[]}`...)
	}
	return append(dst, data...)
}

// httpStatus is the HTTP status grpc-gateway answers a gRPC code with.
func httpStatus(c connect.Code) int {
	switch c {
	case connect.CodeCanceled:
		return 499
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeOutOfRange:
		return http.StatusBadRequest
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeAlreadyExists, connect.CodeAborted:
		return http.StatusConflict
	case connect.CodePermissionDenied:
		return http.StatusForbidden
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	case connect.CodeResourceExhausted:
		return http.StatusTooManyRequests
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// lineStream writes a stream to an HTTP response as grpc-gateway does:
// one JSON object a line, each message as {"result": message}, flushed
// when no more are at hand, and a status that ends it early as
// {"error": status}.
type lineStream[E proto.Message] struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	bw   *bufio.Writer
	line []byte
}

func newLineStream[E proto.Message](w http.ResponseWriter) *lineStream[E] {
	l := &lineStream[E]{w: w, rc: http.NewResponseController(w)}
	l.start()
	// Should the client have gone, the stream's first write says so.
	_ = l.rc.Flush()
	return l
}

func (l *lineStream[E]) sender() sender[E] {
	return sender[E]{send: l.send, flush: l.flush}
}

func (l *lineStream[E]) start() {
	l.w.Header().Set("Content-Type", "application/json")
	l.w.WriteHeader(http.StatusOK)
	// Lines gather in a buffer larger than the response's own, so that a
	// subscriber that is behind gets them in few large writes (and few
	// chunks).
	l.bw = bufio.NewWriterSize(l.w, 32<<10)
}

func (l *lineStream[E]) send(ev E, more bool) error {
	var err error
	l.line = append(l.line[:0], `{"result":`...)
	if l.line, err = gatewayStyle.appendJSON(l.line, ev); err != nil {
		return connect.NewError(connect.CodeInternal, err)
	}
	l.line = append(l.line, "}\n"...)
	if _, err := l.bw.Write(l.line); err != nil {
		return err
	}
	if more {
		return nil
	}
	return l.flush()
}

func (l *lineStream[E]) flush() error {
	if err := l.bw.Flush(); err != nil {
		return err
	}
	return l.rc.Flush()
}

// end finishes the stream that ended with err: what is buffered goes out,
// with err's status as the last line.
func (l *lineStream[E]) end(err error) {
	if err != nil && connect.CodeOf(err) == connect.CodeCanceled {
		// The client went away: there is no one left to tell.
		return
	}
	if err == nil {
		_ = l.flush() // the handler returns; a failure has no one to tell
		return
	}
	line := append([]byte(`{"error":`), appendStatus(nil, err)...)
	_, _ = l.bw.Write(append(line, "}\n"...))
	_ = l.flush()
}
