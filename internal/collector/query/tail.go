package query

import (
	"bytes"
	"context"
	"fmt"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
)

// pageSize is how many stored events a subscriber reads at a time.
const pageSize = 1000

// tail calls send with every stored event q selects, in order, and with
// follow waits for more as they are stored; a one-run tail ends after the
// run's terminationEvent. more tells send whether the next event is
// already at hand, so that it can flush only when caught up. Each
// subscriber reads the database at its own pace: one that falls behind
// holds up nobody. It ends with CANCELED or DEADLINE_EXCEEDED when ctx
// ends it, with errCode's status when the store fails, and with send's
// error as it is.
func (s *Service) tail(ctx context.Context, q store.EventQuery, follow bool, send func(e store.Event, more bool) error) error {
	q.Limit = pageSize
	oneRun := q.RunID != "" && !q.ByCursor
	for {
		changed := s.st.Changed()
		evs, err := s.st.Events(ctx, q)
		if err != nil {
			return errCode(ctx, err)
		}
		for i, e := range evs {
			if err := send(e, i < len(evs)-1 || len(evs) == pageSize); err != nil {
				return err
			}
			if oneRun && isTermination(e.JSON) {
				return nil
			}
			q.AfterSeq, q.AfterCursor = e.Sequence, e.Cursor
		}
		if len(evs) == pageSize {
			continue
		}
		if !follow {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctxError(ctx, ctx.Err())
		}
	}
}

// envelopes tails events as Envelopes that pass filter.
func (s *Service) envelopes(ctx context.Context, q store.EventQuery, follow bool, filter event.Filter, send func(e store.Event, env *pb.Envelope, more bool) error) error {
	return s.tail(ctx, q, follow, func(e store.Event, more bool) error {
		env, err := event.UnmarshalJSON(e.JSON)
		if err != nil {
			return connect.NewError(connect.CodeDataLoss, fmt.Errorf("stored event %d of run %s: %w", e.Sequence, e.RunID, err))
		}
		if !filter.Match(env.Event) {
			return nil
		}
		return send(e, env, more)
	})
}

// terminationKey can only occur in an envelope's JSON as the payload's
// key: inside a string its quotes would be escaped.
var terminationKey = []byte(`"terminationEvent":`)

func isTermination(js []byte) bool { return bytes.Contains(js, terminationKey) }
