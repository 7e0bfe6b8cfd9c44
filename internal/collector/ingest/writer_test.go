package ingest

import (
	"errors"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestWriterRefusesOnlyWhatTheStoreRefuses commits a batch in which
// PostgreSQL refuses one event for good (a NUL in text, which Validate
// would have caught before): that event is refused, the others are stored.
func TestWriterRefusesOnlyWhatTheStoreRefuses(t *testing.T) {
	st, err := store.Open(t.Context(), testutil.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	}()
	rec := func(run string, seq uint32, p any) store.Record {
		ev := &pb.Event{Sequence: seq, Timestamp: timestamppb.Now()}
		switch p := p.(type) {
		case *pb.MetaEvent:
			ev.Payload = &pb.Event_MetaEvent{MetaEvent: p}
		case *pb.BuildEvent:
			ev.Payload = &pb.Event_BuildEvent{BuildEvent: p}
		}
		env := &pb.Envelope{EventId: run, Event: ev}
		js, err := event.MarshalJSON(env)
		if err != nil {
			t.Fatal(err)
		}
		return store.Record{Env: env, JSON: js}
	}
	recs := []store.Record{
		rec("a", 1, &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}),
		rec("a", 2, &pb.BuildEvent{Image: "app", Log: "one"}),
		rec("b", 1, &pb.MetaEvent{Command: "bu\x00ild"}),
		rec("c", 1, &pb.MetaEvent{Command: "run"}),
		rec("a", 3, &pb.BuildEvent{Image: "app", Log: "two"}),
		rec("b", 2, &pb.BuildEvent{Image: "app", Log: "after the refused one"}),
	}
	w := &writer{st: st, log: slog.New(slog.DiscardHandler)}
	outs, err := w.append(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	var refused *refusedError
	var gap *store.GapError
	for i, want := range []struct {
		acked uint32
		err   any
	}{{1, nil}, {2, nil}, {0, &refused}, {1, nil}, {3, nil}, {0, &gap}} {
		o := outs[i]
		switch {
		case want.err == nil && (o.Err != nil || o.Acked != want.acked):
			t.Errorf("event %d: acked %d, %v; want acked %d", i, o.Acked, o.Err, want.acked)
		case want.err != nil && !errors.As(o.Err, want.err):
			t.Errorf("event %d: %v, want a %T", i, o.Err, want.err)
		}
	}
	if _, err := st.Run(t.Context(), "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused run was stored: %v", err)
	}
	if r, err := st.Run(t.Context(), "a"); err != nil || r.LastSequence != 3 {
		t.Errorf("run a: %v, %v", r, err)
	}
}
