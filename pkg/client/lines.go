package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/jsonl"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// maxLine bounds one event's JSON line, as the servers bound an event.
const maxLine = 4 << 20

// EventLines is Events for a caller that wants each event's JSON line
// (without its newline) as the server encoded it: the bytes of the event
// log file and of hoist's stdout, which it does not decode. It is the
// cheapest way to copy a run's events elsewhere. It reads the plain HTTP
// endpoint (GET /v1alpha2/events) that a running hoist and a collector
// both serve, and resumes after the last sequence given when the server
// ends the stream of a caller that fell behind, as Events does.
//
// more tells fn whether further lines are already at hand, so that a
// writer can flush only when it has caught up. line is valid only during
// the call. Errors are *connect.Error values, with the codes Events gives
// for the same failures.
func (c *Client) EventLines(ctx context.Context, req *pb.EventsRequest, fn func(line []byte, more bool) error) error {
	if req == nil {
		req = &pb.EventsRequest{}
	} else {
		req = proto.CloneOf(req)
	}
	for {
		last, resume, err := c.lines(ctx, req, fn)
		if err != nil || !resume {
			return err
		}
		req.AfterSequence = last
	}
}

// lines makes one request and passes its lines to fn. resume reports that
// the server cut the stream short after sequence last.
func (c *Client) lines(ctx context.Context, req *pb.EventsRequest, fn func([]byte, bool) error) (last uint32, resume bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+rpc.EventsPath+"?"+jsonl.EventsQuery(req).Encode(), nil)
	if err != nil {
		return 0, false, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return 0, false, connect.NewError(rpc.TransportCode(ctx, err), err)
	}
	// The body is read to its end or the call canceled: closing it has
	// nothing to add.
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, false, connect.NewError(codeOfStatus(resp.StatusCode),
			fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg))))
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line, err = readLong(br, line)
		}
		if len(line) > 0 && err == nil {
			if ferr := fn(line[:len(line)-1], br.Buffered() > 0); ferr != nil {
				return 0, false, ferr
			}
			continue
		}
		if errors.Is(err, io.EOF) && len(line) == 0 {
			break
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // a line without its newline
		}
		return 0, false, connect.NewError(rpc.TransportCode(ctx, err), fmt.Errorf("reading events: %w", err))
	}
	if v := resp.Trailer.Get(jsonl.LastSequenceHeader); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, false, connect.NewError(connect.CodeInternal, fmt.Errorf("bad %s trailer %q", jsonl.LastSequenceHeader, v))
		}
		return uint32(n), true, nil
	}
	return 0, false, nil
}

// readLong reads the rest of a line longer than br's buffer.
func readLong(br *bufio.Reader, first []byte) ([]byte, error) {
	line := append([]byte(nil), first...)
	for {
		more, err := br.ReadSlice('\n')
		line = append(line, more...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("an event's line is longer than %d bytes", maxLine)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// codeOfStatus is the code Events gives for what the endpoint answered:
// a bad request and an unknown run mean what they say there, and anything
// else what it means to gRPC.
func codeOfStatus(status int) connect.Code {
	switch status {
	case http.StatusBadRequest:
		return connect.CodeInvalidArgument
	case http.StatusNotFound:
		return connect.CodeNotFound
	}
	return rpc.CodeOfHTTPStatus(status)
}
