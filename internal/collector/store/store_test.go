package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

func open(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return st
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// runEvents makes a run of n events: a metaEvent, build lines, and a
// terminationEvent with status.
func runEvents(id string, n int, start time.Time, status pb.Status, images ...string) []store.Record {
	var recs []store.Record
	for seq := 1; seq <= n; seq++ {
		ev := &pb.Event{Sequence: uint32(seq), Timestamp: timestamppb.New(start.Add(time.Duration(seq) * time.Millisecond))}
		switch seq {
		case 1:
			ev.Payload = &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "run", Version: "test", Artifacts: images}}
		case n:
			ev.Payload = &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: status}}
		default:
			ev.Payload = &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: images[0], Status: pb.Status_IN_PROGRESS, Log: fmt.Sprintf("line %d", seq)}}
		}
		env := &pb.Envelope{ApiVersion: "skaffold.dev/v1alpha2", Kind: "Event", EventId: id, Event: ev}
		js, err := event.MarshalJSON(env)
		if err != nil {
			panic(err)
		}
		recs = append(recs, store.Record{Env: env, JSON: js})
	}
	return recs
}

func TestAppendIsIdempotentAndOrdered(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := open(t, url)
		recs := runEvents("run-a", 10, t0, pb.Status_SUCCEEDED, "app")
		outs, err := st.Append(ctx, recs[:6])
		if err != nil {
			t.Fatal(err)
		}
		if outs[5].Acked != 6 {
			t.Fatalf("acked %d after 6 events, want 6", outs[5].Acked)
		}
		// A resend from an older ack stores nothing twice.
		if outs, err = st.Append(ctx, recs[3:]); err != nil {
			t.Fatal(err)
		}
		if got := outs[len(outs)-1].Acked; got != 10 {
			t.Fatalf("acked %d, want 10", got)
		}
		// A gap is refused, and nothing of it is stored.
		gap := runEvents("run-b", 5, t0, pb.Status_SUCCEEDED, "app")
		outs, err = st.Append(ctx, []store.Record{gap[0], gap[2]})
		if err != nil {
			t.Fatal(err)
		}
		var ge *store.GapError
		if !errors.As(outs[1].Err, &ge) || ge.Stored != 1 || ge.Pushed != 3 {
			t.Fatalf("a gap gave %v, want a GapError after 1", outs[1].Err)
		}
		evs, err := st.Events(ctx, store.EventQuery{RunID: "run-a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 10 {
			t.Fatalf("stored %d events, want 10", len(evs))
		}
		for i, e := range evs {
			if e.Sequence != uint32(i+1) || string(e.JSON) != string(recs[i].JSON) {
				t.Fatalf("event %d: sequence %d, %s; want %s", i, e.Sequence, e.JSON, recs[i].JSON)
			}
		}
		r, err := st.Run(ctx, "run-a")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != pb.Status_SUCCEEDED || r.LastSequence != 10 || r.Command != "run" || r.State.Status != pb.Status_SUCCEEDED {
			t.Fatalf("run summary %v", r)
		}
		if _, err := st.Run(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an unknown run gave %v, want ErrNotFound", err)
		}
	})
}

func TestRunsFilterAndPage(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := open(t, url)
		for i := range 7 {
			status := pb.Status_SUCCEEDED
			if i%3 == 0 {
				status = pb.Status_FAILED
			}
			img := "web"
			if i%2 == 0 {
				img = "api"
			}
			if _, err := st.Append(ctx, runEvents(fmt.Sprintf("run-%d", i), 3, t0.Add(time.Duration(i)*time.Minute), status, img)); err != nil {
				t.Fatal(err)
			}
		}
		var all []string
		tok := ""
		for {
			runs, next, err := st.Runs(ctx, store.RunQuery{PageSize: 3, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				all = append(all, r.EventId)
			}
			if next == "" {
				break
			}
			tok = next
		}
		if fmt.Sprint(all) != "[run-6 run-5 run-4 run-3 run-2 run-1 run-0]" {
			t.Fatalf("pages gave %v, want newest first, each once", all)
		}
		ids := func(q store.RunQuery) string {
			runs, _, err := st.Runs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range runs {
				out = append(out, r.EventId)
			}
			return fmt.Sprint(out)
		}
		if got := ids(store.RunQuery{Statuses: []pb.Status{pb.Status_FAILED}}); got != "[run-6 run-3 run-0]" {
			t.Errorf("FAILED runs: %s", got)
		}
		if got := ids(store.RunQuery{Image: "web", Statuses: []pb.Status{pb.Status_SUCCEEDED}}); got != "[run-5 run-1]" {
			t.Errorf("SUCCEEDED runs of web: %s", got)
		}
		if got := ids(store.RunQuery{StartedAfter: t0.Add(2 * time.Minute), StartedBefore: t0.Add(4 * time.Minute), Command: "run"}); got != "[run-3 run-2]" {
			t.Errorf("runs started in [2m, 4m): %s", got)
		}
		if _, _, err := st.Runs(ctx, store.RunQuery{PageToken: "garbage!"}); !errors.Is(err, store.ErrBadPageToken) {
			t.Errorf("a bad page token gave %v", err)
		}
		n, err := st.Prune(ctx, time.Time{}, 4)
		if err != nil || n != 3 {
			t.Fatalf("pruning to 4 runs deleted %d (%v), want 3", n, err)
		}
		if got := ids(store.RunQuery{}); got != "[run-6 run-5 run-4 run-3]" {
			t.Errorf("after pruning: %s", got)
		}
		if evs, _ := st.Events(ctx, store.EventQuery{RunID: "run-0"}); len(evs) != 0 {
			t.Errorf("a pruned run kept %d events", len(evs))
		}
		if n, err := st.Prune(ctx, time.Now().Add(time.Hour), 0); err != nil || n != 4 {
			t.Errorf("pruning by age deleted %d (%v), want 4", n, err)
		}
	})
}

// TestCursorFollowsCommitOrder appends from many goroutines at once and
// checks that a reader following the cursor sees every event once.
func TestCursorFollowsCommitOrder(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := open(t, url)
		const runs, per = 8, 200
		var wg sync.WaitGroup
		for r := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				recs := runEvents(fmt.Sprintf("run-%d", r), per, t0, pb.Status_SUCCEEDED, "app")
				for i := 0; i < per; i += 10 {
					if _, err := st.Append(ctx, recs[i:i+10]); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		seen := map[string]bool{}
		var cursor uint64
		deadline := time.Now().Add(time.Minute)
		for len(seen) < runs*per && time.Now().Before(deadline) {
			changed := st.Changed()
			evs, err := st.Events(ctx, store.EventQuery{ByCursor: true, AfterCursor: cursor, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				key := fmt.Sprintf("%s/%d", e.RunID, e.Sequence)
				if seen[key] {
					t.Fatalf("%s seen twice", key)
				}
				seen[key] = true
				cursor = e.Cursor
			}
			if len(evs) == 0 {
				select {
				case <-changed:
				case <-time.After(time.Second):
				}
			}
		}
		wg.Wait()
		if len(seen) != runs*per {
			t.Fatalf("the cursor reader saw %d events, want %d", len(seen), runs*per)
		}
	})
}

func TestSQLiteRefusesASecondCollector(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	open(t, path)
	if _, err := store.Open(t.Context(), "sqlite://"+path); err == nil {
		t.Fatal("a second store on the same SQLite file opened")
	}
}

func TestOpenRefusesUnknownSchemes(t *testing.T) {
	if _, err := store.Open(t.Context(), "mysql://x"); err == nil {
		t.Fatal("a mysql:// store opened")
	}
}

// TestCollectorsMigrateTogether opens one PostgreSQL database from several
// collectors at once: each migration is applied once, and all open.
func TestCollectorsMigrateTogether(t *testing.T) {
	url := testutil.PostgresDB(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := store.Open(t.Context(), url)
			if err == nil {
				err = st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("a collector starting beside others: %v", err)
		}
	}
}
