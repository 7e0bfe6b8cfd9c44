package rpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// maxGRPCRequest bounds the EventsRequest a gRPC client sends: a run id
// and a filter.
const maxGRPCRequest = 1 << 20

// grpcEvents serves the EventService's Events itself to the clients that
// speak gRPC with protobuf messages over HTTP/2: grpcurl, generated
// clients in every language, and hoist's own. Every other request
// (gRPC-Web, Connect, gRPC with JSON messages) goes to connect's handler,
// next.
//
// A stream writes each event as a gRPC frame, the 5-byte prefix and the
// protobuf bytes the bus shares, into the flush gate's buffer, with one
// lock for both and the flush decided at once (flushGate.frame): the
// work of a message is a copy. Through connect, each message was three
// writes to the gate, its flush and connect's envelope, marshaling and
// buffer pool besides, most of the server's cost of a stream. The wire
// is the same: the response headers, the frames, and the status in the
// trailers (or alone, for a call refused before its stream starts), as
// connect writes them, with its error details and metadata.
func (s *Server) grpcEvents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := flushGateFrom(r.Context())
		if g == nil || !isGRPCProto(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.serveGRPCEvents(g, r)
	})
}

// isGRPCProto reports whether r is a gRPC call with protobuf messages.
func isGRPCProto(r *http.Request) bool {
	if r.Method != http.MethodPost || r.ProtoMajor != 2 {
		return false
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (ct == "application/grpc" || ct == "application/grpc+proto")
}

func (s *Server) serveGRPCEvents(g *flushGate, r *http.Request) {
	h := g.Header()
	h.Set("Content-Type", r.Header.Get("Content-Type"))
	h.Set("Grpc-Accept-Encoding", "gzip")
	ctx := r.Context()
	timeout, err := grpcTimeout(r.Header.Get("Grpc-Timeout"))
	if err != nil {
		grpcTrailersOnly(g, connect.NewError(connect.CodeInvalidArgument, err))
		return
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req := &pb.EventsRequest{}
	if err := readGRPCRequest(r, req); err != nil {
		grpcTrailersOnly(g, err)
		return
	}
	filter, err := s.eventsFilter(req)
	if err != nil {
		grpcTrailersOnly(g, err)
		return
	}
	// The headers go out now, so that a client's call returns before the
	// first event exists.
	g.WriteHeader(http.StatusOK)
	g.Flush()
	var prefix [5]byte
	err = s.stream(ctx, r.RemoteAddr, req.GetAfterSequence(), req.GetHistoryOnly(), filter, event.FormProto,
		func(e *event.Encoded, more bool) error {
			if e == nil {
				return nil // the gate's timer flushes what it held back
			}
			data, err := e.Proto()
			if err != nil {
				return connect.NewError(connect.CodeInternal, err)
			}
			binary.BigEndian.PutUint32(prefix[1:], uint32(len(data)))
			return g.frame(prefix[:], data, more)
		})
	if err != nil && ctx.Err() != nil && r.Context().Err() == nil {
		// The client's own deadline passed, not its connection.
		err = connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	for k, vs := range grpcStatus(err) {
		h[http.TrailerPrefix+k] = vs
	}
}

// eventsFilter counts a call of Events as a connection (Connected),
// checks its request and returns its filter, or the status that refuses
// it.
func (s *Server) eventsFilter(req *pb.EventsRequest) (event.Filter, error) {
	s.markConnected()
	filter, err := event.FilterFrom(req.GetFilter())
	if err != nil {
		return filter, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if id := req.GetRunId(); id != "" && id != s.Bus.RunID() {
		return filter, connect.NewError(connect.CodeNotFound, fmt.Errorf("this hoist serves run %s, not %s", s.Bus.RunID(), id))
	}
	return filter, nil
}

// readGRPCRequest reads the one message of a gRPC request into msg.
func readGRPCRequest(r *http.Request, msg proto.Message) error {
	var prefix [5]byte
	if _, err := io.ReadFull(r.Body, prefix[:]); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("reading the request message: %w", err))
	}
	size := binary.BigEndian.Uint32(prefix[1:])
	if size > maxGRPCRequest {
		return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("request message of %d bytes is over the %d allowed", size, maxGRPCRequest))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r.Body, data); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("reading the request message: %w", err))
	}
	if prefix[0]&1 != 0 {
		var err error
		if data, err = gunzip(r.Header.Get("Grpc-Encoding"), data); err != nil {
			return err
		}
	}
	if err := proto.Unmarshal(data, msg); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("decoding the request message: %w", err))
	}
	return nil
}

// gunzip decompresses a request message compressed with encoding.
func gunzip(encoding string, data []byte) ([]byte, error) {
	if encoding != "gzip" {
		return nil, connect.NewError(connect.CodeUnimplemented, fmt.Errorf("unknown compression %q: supported encodings are gzip", encoding))
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(zr, maxGRPCRequest+1))
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("decompressing the request message: %w", err))
	}
	if len(data) > maxGRPCRequest {
		return nil, connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("request message is over the %d bytes allowed", maxGRPCRequest))
	}
	return data, nil
}

// grpcTimeout parses the Grpc-Timeout header: up to 8 digits and a unit.
// 0 means none.
func grpcTimeout(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	units := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second,
		'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}
	unit, ok := units[v[len(v)-1]]
	n, err := strconv.ParseUint(v[:len(v)-1], 10, 64)
	if !ok || err != nil || len(v) > 9 {
		return 0, fmt.Errorf("bad grpc-timeout %q", v)
	}
	if unit == time.Hour && n > uint64(time.Duration(1<<63-1)/time.Hour) {
		return 0, nil // longer than a Duration holds: none
	}
	return time.Duration(n) * unit, nil
}

// grpcTrailersOnly refuses a call before its stream starts: the status
// alone, in the response's headers.
func grpcTrailersOnly(g *flushGate, err error) {
	h := g.Header()
	for k, vs := range grpcStatus(err) {
		h[k] = vs
	}
	g.WriteHeader(http.StatusOK)
}

// grpcStatus returns the trailers that end a call with err (nil for OK):
// its code, its message and, when it has details, the google.rpc.Status
// that carries them, and its metadata, as connect's gRPC handler sends
// them.
func grpcStatus(err error) http.Header {
	if err == nil {
		return http.Header{"Grpc-Status": {"0"}}
	}
	t := http.Header{}
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		cerr = connect.NewError(connect.CodeUnknown, err)
	}
	for k, vs := range cerr.Meta() {
		if !strings.HasPrefix(strings.ToLower(k), "grpc-") {
			t[k] = append(t[k], vs...)
		}
	}
	t.Set("Grpc-Status", strconv.Itoa(int(cerr.Code())))
	t.Set("Grpc-Message", grpcPercentEncode(cerr.Message()))
	if details := cerr.Details(); len(details) > 0 {
		st := &statuspb.Status{Code: int32(cerr.Code()), Message: cerr.Message()}
		for _, d := range details {
			st.Details = append(st.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type(), Value: d.Bytes()})
		}
		if bin, err := proto.Marshal(st); err == nil {
			t.Set("Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(bin))
		}
	}
	return t
}

// grpcPercentEncode encodes a status message for the Grpc-Message header:
// bytes outside printable ASCII, and '%', as %XX.
func grpcPercentEncode(msg string) string {
	var b strings.Builder
	for i := range len(msg) {
		c := msg[i]
		if c < ' ' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
