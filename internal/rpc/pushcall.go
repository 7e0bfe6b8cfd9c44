package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/version"
)

// Bounds of what a push call's request body holds for the transport: it
// waits for more while the sender holds it and it is smaller than
// minBatch (an HTTP/2 frame at the default size), and the sender waits
// while it is maxBatch.
const (
	minBatch = 16 << 10
	maxBatch = 64 << 10
)

// maxAck bounds a PushResponse the pusher reads.
const maxAck = 64 << 10

// pushCall is one call of the EventSinkService's Push over gRPC, written
// for the pusher rather than with connect-go's client. connect-go hands
// each message of a client stream to the transport through a pipe, in two
// writes (its five-byte prefix, then the message), each a hand-off between
// goroutines that costs more than the event itself; and Go's HTTP/2
// transport sends each read of the pipe as a frame of its own. A pushCall
// frames each event, as the protobuf bytes the bus already made, straight
// into the request body's buffer, which the transport takes whole: many
// events a frame, and no hand-off an event.
type pushCall struct {
	body   *frames
	cancel context.CancelFunc

	done chan struct{} // closed once resp or err is set
	resp *http.Response
	err  error
	br   *bufio.Reader
}

// startPush opens a Push call to url, the full path of the method, with
// token as a bearer token if set: a PushBatch call when batch is set. Its
// request body is sent as the pusher adds events; its response is read
// by Receive.
func startPush(ctx context.Context, hc *http.Client, url, token string, batch bool) *pushCall {
	ctx, cancel := context.WithCancel(ctx)
	c := &pushCall{body: newFrames(batch), cancel: cancel, done: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, c.body)
	if err != nil {
		c.err = connect.NewError(connect.CodeInvalidArgument, err)
		close(c.done)
		return c
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/grpc+proto")
	req.Header.Set("Te", "trailers")
	req.Header.Set("User-Agent", "hoist/"+version.Version())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	go func() {
		defer close(c.done)
		resp, err := hc.Do(req)
		if err != nil {
			c.err = connect.NewError(TransportCode(ctx, err), err)
			return
		}
		c.resp, c.br = resp, bufio.NewReader(resp.Body)
		if c.err = responseError(resp); c.err != nil {
			// The status is all there is to read.
			_ = resp.Body.Close()
		}
	}()
	return c
}

// Send adds e to the request, in a PushRequest or a PushBatchRequest. It
// waits while the body holds maxBatch bytes the transport has not taken.
func (c *pushCall) Send(e *event.Encoded) error {
	data, err := e.Proto()
	if err != nil {
		return fmt.Errorf("encoding event %d: %w", e.Seq(), err)
	}
	return c.body.add(data)
}

// hold says whether more events are at hand, so that the transport waits
// for them (see frames.hold).
func (c *pushCall) hold(more bool) { c.body.hold(more) }

// CloseRequest ends the request once what was sent has gone out.
func (c *pushCall) CloseRequest() { c.body.end() }

// Receive returns the next acknowledgement, io.EOF when the sink ended the
// call with OK, or the call's error as a *connect.Error.
func (c *pushCall) Receive() (*pb.PushResponse, error) {
	<-c.done
	if c.err != nil {
		return nil, c.err
	}
	var prefix [5]byte
	if _, err := io.ReadFull(c.br, prefix[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, trailerError(c.resp)
		}
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("reading an acknowledgement: %w", err))
	}
	size := binary.BigEndian.Uint32(prefix[1:])
	switch {
	case prefix[0] != 0:
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("the sink sent a compressed acknowledgement, which was not asked for"))
	case size > maxAck:
		return nil, connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("an acknowledgement of %d bytes, over %d", size, maxAck))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.br, data); err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("reading an acknowledgement: %w", err))
	}
	resp := &pb.PushResponse{}
	if err := proto.Unmarshal(data, resp); err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("decoding an acknowledgement: %w", err))
	}
	return resp, nil
}

// CloseResponse ends the call and releases its connection. The call's
// outcome is what Receive returned; closing the canceled response has
// nothing to add to it.
func (c *pushCall) CloseResponse() {
	c.cancel()
	c.body.close()
	<-c.done
	if c.resp != nil {
		_ = c.resp.Body.Close()
	}
}

// responseError is the error of a response that is not a gRPC stream,
// or of one that carries its status in its headers (a trailers-only
// response); nil for a stream to read.
func responseError(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return connect.NewError(CodeOfHTTPStatus(resp.StatusCode), fmt.Errorf("the sink answered %s", resp.Status))
	}
	if resp.Header.Get("Grpc-Status") != "" {
		return statusError(resp.Header)
	}
	return nil
}

// trailerError is the status the sink ended the call with: io.EOF for OK.
func trailerError(resp *http.Response) error {
	if resp.Trailer.Get("Grpc-Status") == "" {
		return connect.NewError(connect.CodeInternal, errors.New("the sink ended the call without a status"))
	}
	return statusError(resp.Trailer)
}

// statusError reads grpc-status and grpc-message: io.EOF for OK.
func statusError(h http.Header) error {
	code, err := strconv.ParseUint(h.Get("Grpc-Status"), 10, 32)
	if err != nil {
		return connect.NewError(connect.CodeInternal, fmt.Errorf("bad grpc-status %q", h.Get("Grpc-Status")))
	}
	if code == 0 {
		return io.EOF
	}
	msg, err := url.PathUnescape(h.Get("Grpc-Message"))
	if err != nil {
		msg = h.Get("Grpc-Message")
	}
	return connect.NewError(connect.Code(code), errors.New(msg))
}

// CodeOfHTTPStatus is the code of a call answered with an HTTP status
// other than 200, as gRPC's mapping of HTTP statuses gives it.
func CodeOfHTTPStatus(status int) connect.Code {
	switch status {
	case http.StatusBadRequest:
		return connect.CodeInternal
	case http.StatusUnauthorized:
		return connect.CodeUnauthenticated
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusNotFound:
		return connect.CodeUnimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return connect.CodeUnavailable
	}
	return connect.CodeUnknown
}

// TransportCode is the code of a call that failed in the transport with
// err: ctx's when it ended the call, UNAVAILABLE otherwise.
func TransportCode(ctx context.Context, err error) connect.Code {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return connect.CodeCanceled
	}
	return connect.CodeUnavailable
}

// MaxPushBatchBytes bounds the envelopes of a PushBatchRequest the pusher
// sends, unless it holds a single larger one.
const MaxPushBatchBytes = 64 << 10

// frames is the request body of a push call: gRPC frames, each a
// PushRequest, or a PushBatchRequest that gathers the events added until
// the transport takes it, appended by the sender and taken by the
// transport, as much as is buffered a read. While the sender holds it
// (more events are at hand) a read waits for minBatch bytes; the sender
// lets go once it has sent what it had, so no event waits for one that is
// not yet there.
type frames struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	batch  bool
	open   int // with batch, where the frame events join starts in buf; -1 for none
	held   bool
	ended  bool // CloseRequest: io.EOF once buf is taken
	closed bool // the call is over: reads and adds fail
}

func newFrames(batch bool) *frames {
	f := &frames{batch: batch, open: -1}
	f.cond.L = &f.mu
	return f
}

// errPushClosed fails a Send after the call ended; Receive tells why.
var errPushClosed = errors.New("push call closed")

// add appends the envelope whose protobuf bytes are data: as a frame of
// its own, or with batch to the open frame while it stays within
// MaxPushBatchBytes. Both messages hold envelopes in field 1, so a batch
// grows by appending the field and rewriting its frame's length.
func (f *frames) add(data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.buf) >= maxBatch && !f.closed {
		f.cond.Wait()
	}
	if f.closed || f.ended {
		return errPushClosed
	}
	field := 1 + protowire.SizeBytes(len(data))
	if f.open < 0 || len(f.buf)-f.open-5+field > MaxPushBatchBytes {
		f.open = len(f.buf)
		f.buf = append(f.buf, 0, 0, 0, 0, 0)
	}
	f.buf = protowire.AppendTag(f.buf, 1, protowire.BytesType)
	f.buf = protowire.AppendBytes(f.buf, data)
	binary.BigEndian.PutUint32(f.buf[f.open+1:], uint32(len(f.buf)-f.open-5))
	if !f.batch {
		f.open = -1
	}
	if !f.held || len(f.buf) >= minBatch {
		// A read waiting for more can take it now; one that would wait
		// on is not woken for each event.
		f.cond.Broadcast()
	}
	return nil
}

// hold says whether more events are at hand.
func (f *frames) hold(more bool) {
	f.mu.Lock()
	if f.held != more {
		f.held = more
		f.cond.Broadcast()
	}
	f.mu.Unlock()
}

// end ends the body once what it holds is taken.
func (f *frames) end() {
	f.mu.Lock()
	f.ended = true
	f.cond.Broadcast()
	f.mu.Unlock()
}

// close ends the body at once, discarding what it holds.
func (f *frames) close() {
	f.mu.Lock()
	f.closed, f.buf = true, nil
	f.cond.Broadcast()
	f.mu.Unlock()
}

// Read waits until something is buffered (minBatch while held), or the
// body has ended, and returns as much of the buffer as p holds.
func (f *frames) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.closed && !f.ended && (len(f.buf) == 0 || f.held && len(f.buf) < minBatch) {
		f.cond.Wait()
	}
	switch {
	case f.closed:
		return 0, io.ErrClosedPipe
	case len(f.buf) == 0:
		return 0, io.EOF
	}
	n := copy(p, f.buf)
	f.buf = f.buf[:copy(f.buf, f.buf[n:])]
	f.open = -1 // its length may be on its way: later events start a frame
	f.cond.Broadcast()
	return n, nil
}

// Close implements io.Closer for the transport, which closes the body
// when the call ends.
func (f *frames) Close() error {
	f.close()
	return nil
}
