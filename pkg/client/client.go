// Package client is the Go client of hoist's Event API, served by a hoist
// run started with --rpc-port and by hoist collector. Events streams a
// run's events in order and, when the server ends a subscriber that fell
// behind, subscribes again after the last sequence it was given, so that
// the caller sees every event once; State returns where a run stands.
//
// The messages are those of github.com/hoist-dev/hoist/api/hoist/v1alpha2.
// Errors from the server are *connect.Error values: connect.CodeOf(err)
// tells, for instance, CodeNotFound for an unknown run and
// CodeUnauthenticated for a missing or wrong token.
package client

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// Client reads the Event API at one address. It is safe for concurrent use.
type Client struct {
	events hoistv1alpha2connect.EventServiceClient
	// hc, base and token serve the plain HTTP endpoint of EventLines.
	hc    *http.Client
	base  string
	token string
}

// An Option configures a Client.
type Option interface {
	apply(*options)
}

type options struct {
	token, caFile string
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithToken sends token as a bearer token with every call, as a collector
// started with --token requires.
func WithToken(token string) Option {
	return optionFunc(func(o *options) { o.token = token })
}

// WithCAFile verifies an https:// server's certificate with the CA bundle
// (PEM) in path, instead of the system's roots.
func WithCAFile(path string) Option {
	return optionFunc(func(o *options) { o.caFile = path })
}

// New returns a client of the Event API at address: host:port (gRPC over
// HTTP/2 without TLS), or an http:// or https:// URL. It does not dial;
// the first call does.
func New(address string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	co := rpc.ClientOptions{Address: address, Token: o.token, CAFile: o.caFile}
	hc, err := rpc.NewHTTPClient(co)
	if err != nil {
		return nil, err
	}
	lines, err := rpc.NewStreamClient(co)
	if err != nil {
		return nil, err
	}
	return &Client{events: hoistv1alpha2connect.NewEventServiceClient(hc, rpc.BaseURL(address), rpc.ClientOpts(co)...),
		hc: lines, base: rpc.BaseURL(address), token: o.token}, nil
}

// Events calls fn with each event that req asks for, in order, and
// returns when the stream ends: after the run's terminationEvent, or with
// req.HistoryOnly after the events published so far. A nil req asks for
// every event, following the run to its end. When the server ends the
// stream because the caller fell behind, Events subscribes again after the
// last sequence given, so fn sees each event once. An error of fn ends
// Events and is returned as it is.
func (c *Client) Events(ctx context.Context, req *pb.EventsRequest, fn func(*pb.Envelope) error) error {
	if req == nil {
		req = &pb.EventsRequest{}
	} else {
		req = proto.CloneOf(req)
	}
	var fnErr error
	call := func(env *pb.Envelope) error {
		fnErr = fn(env)
		return fnErr
	}
	for {
		err := c.subscribe(ctx, req, call)
		if fnErr != nil {
			return fnErr
		}
		sc, ok := rpc.SlowConsumerOf(err)
		if !ok {
			return err
		}
		req.AfterSequence = sc.LastSequence
	}
}

// subscribe makes one Events call and passes its events to fn until the
// stream or fn ends it.
func (c *Client) subscribe(ctx context.Context, req *pb.EventsRequest, fn func(*pb.Envelope) error) error {
	// Canceling before Close keeps Close from draining a live stream.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.events.Events(ctx, connect.NewRequest(req))
	if err != nil {
		return err
	}
	for stream.Receive() {
		if err := fn(stream.Msg()); err != nil {
			cancel()
			_ = stream.Close() // canceled: its error says only that
			return err
		}
	}
	err = stream.Err()
	if closeErr := stream.Close(); err == nil {
		err = closeErr
	}
	return err
}

// State returns where a run stands: its artifacts, its deploy and its
// resources. A nil req asks a running hoist for its own run; a collector
// needs req.RunId.
func (c *Client) State(ctx context.Context, req *pb.GetStateRequest) (*pb.State, error) {
	if req == nil {
		req = &pb.GetStateRequest{}
	}
	resp, err := c.events.GetState(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}
