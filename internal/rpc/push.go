package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/wake"
)

// Backoff bounds between reconnects.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Pusher streams every event of a run to an EventSinkService and resends
// what the sink has not acknowledged after each reconnect. Events waiting
// for delivery are the bus's own history: bounded in memory and spilled to
// disk, so a long outage loses nothing and does not grow memory. The
// pipeline never waits on it.
type Pusher struct {
	Bus *event.Bus
	Log *slog.Logger

	// hc, base and token make the EventSinkService's calls (pushCall),
	// which send the bus's events as the protobuf bytes they were already
	// encoded to: PushBatch calls, or Push calls once the sink has said
	// it has no PushBatch (single).
	hc          *http.Client
	base, token string
	single      atomic.Bool

	acked     atomic.Uint32
	ackedWake wake.Signal
	lastErr   atomic.Value
}

// NewPusher returns a pusher to the sink at o.Address.
func NewPusher(bus *event.Bus, o ClientOptions, log *slog.Logger) (*Pusher, error) {
	hc, err := NewHTTPClient(o)
	if err != nil {
		return nil, err
	}
	return &Pusher{Bus: bus, Log: log, hc: hc, base: BaseURL(o.Address), token: o.Token}, nil
}

// start opens a PushBatch call, or a Push call to a sink without
// PushBatch.
func (p *Pusher) start(ctx context.Context) *pushCall {
	if p.single.Load() {
		return startPush(ctx, p.hc, p.base+hoistv1alpha2connect.EventSinkServicePushProcedure, p.token, false)
	}
	return startPush(ctx, p.hc, p.base+hoistv1alpha2connect.EventSinkServicePushBatchProcedure, p.token, true)
}

// fallBack reports whether err says that the sink has no PushBatch, and
// if so makes later calls Push calls.
func (p *Pusher) fallBack(err error) bool {
	if connect.CodeOf(err) != connect.CodeUnimplemented || p.single.Load() {
		return false
	}
	p.single.Store(true)
	p.Log.Debug("the event sink has no PushBatch: pushing one event a message")
	return true
}

// Acked returns the sequence up to which the sink has acknowledged.
func (p *Pusher) Acked() uint32 { return p.acked.Load() }

// Run pushes until the sink has acknowledged the whole run or ctx is done.
func (p *Pusher) Run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		if p.Bus.Ended() && p.acked.Load() >= p.Bus.Last() {
			return
		}
		start := time.Now()
		err := p.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if p.fallBack(err) {
			continue
		}
		if err != nil {
			p.lastErr.Store(err)
			p.Log.Debug("event push disconnected", "err", err, "acked", p.acked.Load())
		}
		if time.Since(start) > 10*time.Second {
			backoff = minBackoff
		}
		// Exponential backoff, each wait drawn at random from half to one
		// and a half times it, so that pushers cut off together do not
		// all reconnect together.
		wait := time.Duration(rand.Int64N(int64(backoff))) + backoff/2
		backoff = min(backoff*2, maxBackoff)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
	}
}

// session is one connection: it sends everything after the last
// acknowledged sequence and reads acknowledgements until either side fails.
func (p *Pusher) session(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The transport sends what the stream is given in batches: each
	// event is held back while the next is at hand, up to a frame's size.
	stream := p.start(ctx)
	from := p.acked.Load()
	recvDone := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Receive()
			if err != nil {
				recvDone <- err
				cancel(err)
				return
			}
			if resp.EventId == p.Bus.RunID() {
				p.ack(resp.AckedSequence)
			}
			if p.Bus.Ended() && p.acked.Load() >= p.Bus.Last() {
				recvDone <- nil
				cancel(nil)
				return
			}
		}
	}()
	sendErr := p.Bus.FollowEncoded(ctx, from, func(e *event.Encoded, more bool) error {
		stream.hold(true)
		err := stream.Send(e)
		stream.hold(more)
		return err
	}, event.Wants(event.FormProto))
	stream.hold(false)
	if sendErr == nil {
		// Everything is sent; half-close and wait for the acknowledgements.
		stream.CloseRequest()
	}
	recvErr := <-recvDone
	// Receiving has ended, with an error or after the last
	// acknowledgement, and decided the session's outcome; closing the
	// response only releases the connection.
	stream.CloseResponse()
	switch {
	case p.Bus.Ended() && p.acked.Load() >= p.Bus.Last():
		return nil
	case recvErr != nil && !errors.Is(recvErr, context.Canceled):
		return recvErr
	}
	return sendErr
}

func (p *Pusher) ack(seq uint32) {
	for {
		cur := p.acked.Load()
		if seq <= cur || p.acked.CompareAndSwap(cur, seq) {
			break
		}
	}
	p.ackedWake.Wake()
}

// Flush waits at most timeout for the sink to acknowledge every event of
// the ended run and returns how many it has not.
func (p *Pusher) Flush(ctx context.Context, timeout time.Duration) int {
	deadline := time.After(timeout)
	for {
		// Taken before reading acked, so that an ack in between wakes it.
		woken := p.ackedWake.Wait()
		last := p.Bus.Last()
		if p.acked.Load() >= last {
			return 0
		}
		select {
		case <-woken:
		case <-deadline:
			return int(last - p.acked.Load())
		case <-ctx.Done():
			return int(last - p.acked.Load())
		}
	}
}

// LastError returns the last connection error, if any.
func (p *Pusher) LastError() error {
	if err, ok := p.lastErr.Load().(error); ok {
		return err
	}
	return nil
}

// Check opens one stream to the sink and closes it at once, for
// event.rpc.required: an error means the sink cannot be reached.
func (p *Pusher) Check(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := p.check(ctx)
	if p.fallBack(err) {
		err = p.check(ctx)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeUnauthenticated, connect.CodePermissionDenied, connect.CodeUnimplemented:
		return err
	}
	return nil
}

// check opens a call and closes it at once, and returns the status the
// sink ended it with: io.EOF for OK.
func (p *Pusher) check(ctx context.Context) error {
	stream := p.start(ctx)
	// The answer is the status Receive reads below; closing the response
	// afterwards only releases the connection.
	defer stream.CloseResponse()
	stream.CloseRequest()
	_, err := stream.Receive()
	return err
}
