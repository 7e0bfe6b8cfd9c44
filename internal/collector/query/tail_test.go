package query

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
)

// fakeStore answers every read with read's answer, and never changes.
type fakeStore struct {
	read func(ctx context.Context) error
}

func (f fakeStore) Changed() <-chan struct{} { return nil }

func (f fakeStore) Events(ctx context.Context, _ store.EventQuery) ([]store.Event, error) {
	if err := f.read(ctx); err != nil {
		return nil, err
	}
	return []store.Event{{Cursor: 1, RunID: "run-1", Sequence: 1, JSON: []byte(`{}`)}}, nil
}

func (f fakeStore) Run(ctx context.Context, _ string) (*pb.Run, error) {
	if err := f.read(ctx); err != nil {
		return nil, err
	}
	return &pb.Run{}, nil
}

func (f fakeStore) Runs(context.Context, store.RunQuery) ([]*pb.Run, string, error) {
	return nil, "", nil
}

func (f fakeStore) Timeline(context.Context, string, uint32) ([]timeline.Span, error) {
	return nil, nil
}

func (f fakeStore) Trends(context.Context, store.TrendQuery) (*store.Trends, error) {
	return &store.Trends{}, nil
}

// TestErrorCodes checks the status that ends a tail and a run lookup:
// CANCELED or DEADLINE_EXCEEDED only when the caller's context ended it,
// as rpc.Stream reports them, the store's own status for its failures,
// and send's error as it is.
func TestErrorCodes(t *testing.T) {
	canceled := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx
	}
	expired := func(t *testing.T) context.Context {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		t.Cleanup(cancel)
		return ctx
	}
	live := func(t *testing.T) context.Context { return t.Context() }
	ok := func(context.Context) error { return nil }
	ctxErr := func(ctx context.Context) error { return fmt.Errorf("reading events: %w", ctx.Err()) }
	sent := func(store.Event, bool) error { return nil }
	for _, tc := range []struct {
		name string
		ctx  func(t *testing.T) context.Context
		read func(ctx context.Context) error
		send func(store.Event, bool) error
		// tail and run are the codes the tail and GetRun end with; run
		// is not checked where it is 0.
		tail, run connect.Code
	}{
		{"canceled while waiting", canceled, ok, sent, connect.CodeCanceled, 0},
		{"deadline while waiting", expired, ok, sent, connect.CodeDeadlineExceeded, 0},
		{"canceled in a read", canceled, ctxErr, sent, connect.CodeCanceled, connect.CodeCanceled},
		{"deadline in a read", expired, ctxErr, sent, connect.CodeDeadlineExceeded, connect.CodeDeadlineExceeded},
		{"store failure", live, func(context.Context) error { return errors.New("disk I/O error") }, sent,
			connect.CodeInternal, connect.CodeInternal},
		{"a cancel not the caller's", live, func(context.Context) error { return context.Canceled }, sent,
			connect.CodeInternal, connect.CodeInternal},
		{"no such run", live, func(context.Context) error { return store.ErrNotFound }, sent,
			connect.CodeNotFound, connect.CodeNotFound},
		{"send failure", live, ok, func(store.Event, bool) error {
			return connect.NewError(connect.CodeUnavailable, errors.New("client gone"))
		}, connect.CodeUnavailable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(fakeStore{read: tc.read}, nil)
			ctx := tc.ctx(t)
			err := s.tail(ctx, store.EventQuery{RunID: "run-1"}, true, tc.send)
			if got := connect.CodeOf(err); got != tc.tail {
				t.Errorf("tail ended with %v (%v), want %v", got, err, tc.tail)
			}
			if tc.run == 0 {
				return
			}
			_, err = s.GetRun(ctx, connect.NewRequest(&pb.GetRunRequest{EventId: "run-1"}))
			if got := connect.CodeOf(err); got != tc.run {
				t.Errorf("GetRun ended with %v (%v), want %v", got, err, tc.run)
			}
		})
	}
}
