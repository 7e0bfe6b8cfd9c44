package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

func record(id string, seq int, at time.Time, ev *pb.Event) Record {
	ev.Sequence, ev.Timestamp = uint32(seq), timestamppb.New(at)
	env := &pb.Envelope{ApiVersion: "skaffold.dev/v1alpha2", Kind: "Event", EventId: id, Event: ev}
	js, err := event.MarshalJSON(env)
	if err != nil {
		panic(err)
	}
	return Record{Env: env, JSON: js}
}

// TestFoldStored makes runs look as if stored before timelines were kept
// (no fold, no spans), one of them still running: appends to it leave it
// unfolded, and FoldStored, or reading its timeline, folds each from its
// stored events into what ingest would have made.
func TestFoldStored(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			url := filepath.Join(t.TempDir(), "c.db")
			if backend == "postgres" {
				url = testutil.PostgresDB(t)
			}
			st, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := st.Close(); err != nil {
					t.Errorf("closing the store: %v", err)
				}
			}()
			t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			var recs []Record
			build := func(id string, seq int, st pb.Status, step *pb.Step) Record {
				return record(id, seq, t0.Add(time.Duration(seq)*time.Second), &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: st, Step: step, Log: map[bool]string{true: "Step"}[step != nil]}}})
			}
			for r := range 3 {
				id := fmt.Sprintf("run-%d", r)
				recs = append(recs,
					record(id, 1, t0, &pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "run", WorkingDir: "/w"}}}),
					build(id, 2, pb.Status_IN_PROGRESS, nil),
					build(id, 3, pb.Status_IN_PROGRESS, &pb.Step{Index: 1, Total: 1, Instruction: "FROM x"}))
			}
			if _, err := st.Append(ctx, recs); err != nil {
				t.Fatal(err)
			}
			ended := []Record{build("run-0", 4, pb.Status_SUCCEEDED, nil), build("run-1", 4, pb.Status_FAILED, nil)}
			if _, err := st.Append(ctx, ended); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{}
			for r := range 3 {
				id := fmt.Sprintf("run-%d", r)
				spans, err := st.Timeline(ctx, id, 0)
				if err != nil {
					t.Fatal(err)
				}
				want[id] = spans
			}
			// run-2 ends after the upgrade.
			last := build("run-2", 4, pb.Status_CANCELED, nil)
			var wantTrends []Point
			{
				fresh, err := Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := fresh.Append(ctx, append(append(recs, ended...), last)); err != nil {
					t.Fatal(err)
				}
				spans, err := fresh.Timeline(ctx, "run-2", 0)
				if err != nil {
					t.Fatal(err)
				}
				want["run-2"] = spans
				tr, err := fresh.Trends(ctx, TrendQuery{})
				if err != nil {
					t.Fatal(err)
				}
				wantTrends = tr.Series[0].Points
				if err := fresh.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.db.ExecContext(ctx, `UPDATE runs SET timeline = NULL`); err != nil {
				t.Fatal(err)
			}
			if _, err := st.db.ExecContext(ctx, `DELETE FROM spans`); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Append(ctx, []Record{last}); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM spans`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("an append to an unfolded run stored %d spans (%v), want none until it is folded", n, err)
			}
			// Reading a timeline folds its run; FoldStored folds the rest.
			spans, err := st.Timeline(ctx, "run-0", 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want["run-0"], any(spans)); diff != "" {
				t.Errorf("run-0 folded on reading (-ingest +folded):\n%s", diff)
			}
			if n, err := st.FoldStored(ctx); err != nil || n != 2 {
				t.Fatalf("FoldStored folded %d runs (%v), want 2", n, err)
			}
			for r := range 3 {
				id := fmt.Sprintf("run-%d", r)
				spans, err := st.Timeline(ctx, id, 0)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want[id], any(spans)); diff != "" {
					t.Errorf("%s folded from its events (-ingest +folded):\n%s", id, diff)
				}
			}
			tr, err := st.Trends(ctx, TrendQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantTrends, tr.Series[0].Points); diff != "" {
				t.Errorf("trends after folding (-ingest +folded):\n%s", diff)
			}
			if n, err := st.FoldStored(ctx); err != nil || n != 0 {
				t.Errorf("FoldStored again folded %d runs (%v), want none", n, err)
			}
		})
	}
}
