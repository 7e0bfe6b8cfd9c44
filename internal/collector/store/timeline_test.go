package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// exampleRun is a run of a project: it builds app in two steps (for
// build, failing in the second when fail), deploys it with kubectl and
// checks Deployment/ns/app. Its events come every tick from start.
type exampleRun struct {
	id, dir, command string
	// image is "app" when empty.
	image string
	start time.Time
	build time.Duration
	fail  bool
}

const tick = 10 * time.Millisecond

func (r exampleRun) records() []store.Record {
	image := r.image
	if image == "" {
		image = "app"
	}
	type timed struct {
		after time.Duration
		ev    *pb.Event
	}
	b := func(st pb.Status, log string, step *pb.Step) *pb.Event {
		return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: image, Status: st, Log: log, Step: step}}}
	}
	evs := []timed{
		{0, &pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: r.command, WorkingDir: r.dir, Artifacts: []string{image}, Deployer: "kubectl"}}}},
		{tick, b(pb.Status_IN_PROGRESS, "", nil)},
		{tick, b(pb.Status_IN_PROGRESS, "Step 1/2 : FROM busybox", &pb.Step{Index: 1, Total: 2, Instruction: "FROM busybox"})},
		{tick, b(pb.Status_IN_PROGRESS, "Step 2/2 : RUN make", &pb.Step{Index: 2, Total: 2, Instruction: "RUN make"})},
	}
	if r.fail {
		evs = append(evs,
			timed{r.build, &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: image, Status: pb.Status_FAILED, Error: &pb.Error{Code: "BUILD_RUN_FAILED"}}}}},
			timed{tick, &pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_FAILED}}}})
	} else {
		d := func(st pb.Status) *pb.Event {
			return &pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Deployer: "kubectl", Status: st}}}
		}
		c := func(res string, st pb.Status) *pb.Event {
			return &pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: &pb.StatusCheckEvent{Resource: res, Status: st}}}
		}
		evs = append(evs,
			timed{r.build, &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: image, Status: pb.Status_SUCCEEDED}}}},
			timed{tick, d(pb.Status_IN_PROGRESS)}, timed{3 * tick, d(pb.Status_SUCCEEDED)},
			timed{tick, c("", pb.Status_IN_PROGRESS)}, timed{tick, c("Deployment/ns/app", pb.Status_IN_PROGRESS)},
			timed{5 * tick, c("Deployment/ns/app", pb.Status_SUCCEEDED)}, timed{tick, c("", pb.Status_SUCCEEDED)},
			timed{tick, &pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}}})
	}
	var recs []store.Record
	at := r.start
	for i, e := range evs {
		at = at.Add(e.after)
		e.ev.Sequence, e.ev.Timestamp = uint32(i+1), timestamppb.New(at)
		env := &pb.Envelope{ApiVersion: "skaffold.dev/v1alpha2", Kind: "Event", EventId: r.id, Event: e.ev}
		js, err := event.MarshalJSON(env)
		if err != nil {
			panic(err)
		}
		recs = append(recs, store.Record{Env: env, JSON: js})
	}
	return recs
}

// TestTimeline stores a run in batches of one event, as a live run
// arrives, and reads its timeline whole and after a sequence.
func TestTimeline(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := open(t, url)
		recs := exampleRun{id: "run-1", dir: "/src", command: "run", start: t0, build: 2 * time.Second}.records()
		at := func(seq int) time.Time { return recs[seq-1].Env.Event.Timestamp.AsTime() }
		for i, rec := range recs {
			if _, err := st.Append(ctx, []store.Record{rec}); err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				// Mid-build: the build and its second step are open.
				spans, err := st.Timeline(ctx, "run-1", 0)
				if err != nil {
					t.Fatal(err)
				}
				want := []timeline.Span{
					{ID: 1, Kind: timeline.Build, Name: "app", Start: at(2), Status: pb.Status_IN_PROGRESS, From: 2, To: 2},
					{ID: 2, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "1/2 FROM busybox", Start: at(3), End: at(4), Status: pb.Status_SUCCEEDED, From: 3, To: 4},
					{ID: 3, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "2/2 RUN make", Start: at(4), Status: pb.Status_IN_PROGRESS, From: 4, To: 4},
				}
				if diff := cmp.Diff(want, spans); diff != "" {
					t.Errorf("the timeline mid-build (-want +got):\n%s", diff)
				}
			}
		}
		spans, err := st.Timeline(ctx, "run-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []timeline.Span{
			{ID: 1, Kind: timeline.Build, Name: "app", Start: at(2), End: at(5), Status: pb.Status_SUCCEEDED, From: 2, To: 5},
			{ID: 2, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "1/2 FROM busybox", Start: at(3), End: at(4), Status: pb.Status_SUCCEEDED, From: 3, To: 4},
			{ID: 3, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "2/2 RUN make", Start: at(4), End: at(5), Status: pb.Status_SUCCEEDED, From: 4, To: 5},
			{ID: 4, Kind: timeline.Deploy, Name: "kubectl", Start: at(6), End: at(7), Status: pb.Status_SUCCEEDED, From: 6, To: 7},
			{ID: 5, Kind: timeline.Check, Name: "status check", Start: at(8), End: at(11), Status: pb.Status_SUCCEEDED, From: 8, To: 11},
			{ID: 6, Parent: 5, Kind: timeline.Resource, Name: "Deployment/ns/app", Start: at(8), End: at(10), Status: pb.Status_SUCCEEDED, From: 9, To: 10},
		}
		if diff := cmp.Diff(want, spans); diff != "" {
			t.Errorf("the finished run's timeline (-want +got):\n%s", diff)
		}
		later, err := st.Timeline(ctx, "run-1", 7)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[4:], later); diff != "" {
			t.Errorf("the spans changed after event 7 (-want +got):\n%s", diff)
		}
		if _, err := st.Timeline(ctx, "nope", 0); err == nil {
			t.Error("the timeline of an unknown run was read")
		}
		// Pruning a run deletes its spans.
		if n, err := st.Prune(ctx, time.Now().Add(time.Hour), 0); err != nil || n != 1 {
			t.Fatalf("pruning deleted %d runs (%v)", n, err)
		}
		if tr, err := st.Trends(ctx, store.TrendQuery{}); err != nil || len(tr.Series) != 0 || len(tr.WorkingDirs) != 0 {
			t.Errorf("after pruning, trends of %v (%v)", tr, err)
		}
	})
}

// TestTrends stores runs of two working directories and two commands,
// one of them failing, and reads each series' newest points, oldest
// first, with and without the filters.
func TestTrends(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := open(t, url)
		runs := []exampleRun{
			{id: "a1", dir: "/a", command: "run", build: 1 * time.Second},
			{id: "a2", dir: "/a", command: "run", build: 2 * time.Second},
			{id: "a3", dir: "/a", command: "run", build: 3 * time.Second, fail: true},
			{id: "b1", dir: "/b", command: "run", build: 4 * time.Second},
			{id: "a4", dir: "/a", command: "run", build: 5 * time.Second},
			{id: "a5", dir: "/a", command: "dev", build: 6 * time.Second},
			{id: "a6", dir: "/a", command: "run", build: 7 * time.Second},
		}
		for i, r := range runs {
			r.start = t0.Add(time.Duration(i) * time.Minute)
			if _, err := st.Append(ctx, r.records()); err != nil {
				t.Fatal(err)
			}
		}
		type point struct {
			Run    string
			Build  time.Duration
			Status pb.Status
			Detail string
		}
		summary := func(tr *store.Trends) map[string][]point {
			out := map[string][]point{}
			for _, s := range tr.Series {
				key := string(s.Kind) + " " + s.Name
				for _, p := range s.Points {
					out[key] = append(out[key], point{p.RunID, p.Duration, p.Status, p.Detail})
				}
			}
			return out
		}
		// A build lasts from its start to its end: two ticks of steps,
		// then the time to the end.
		build := func(id string, d time.Duration, fail bool) point {
			if fail {
				return point{id, 2*tick + d, pb.Status_FAILED, "BUILD_RUN_FAILED"}
			}
			return point{id, 2*tick + d, pb.Status_SUCCEEDED, ""}
		}
		deploy := func(id string) point { return point{id, 3 * tick, pb.Status_SUCCEEDED, ""} }
		check := func(id string) point { return point{id, 6 * tick, pb.Status_SUCCEEDED, ""} }
		for _, tc := range []struct {
			name string
			q    store.TrendQuery
			want map[string][]point
		}{{
			name: "runs in /a",
			q:    store.TrendQuery{WorkingDir: "/a", Command: "run"},
			want: map[string][]point{
				"build app": {build("a1", time.Second, false), build("a2", 2*time.Second, false), build("a3", 3*time.Second, true),
					build("a4", 5*time.Second, false), build("a6", 7*time.Second, false)},
				"deploy kubectl":             {deploy("a1"), deploy("a2"), deploy("a4"), deploy("a6")},
				"resource Deployment/ns/app": {check("a1"), check("a2"), check("a4"), check("a6")},
			},
		}, {
			name: "the newest 2 of every run",
			q:    store.TrendQuery{Points: 2},
			want: map[string][]point{
				"build app":                  {build("a5", 6*time.Second, false), build("a6", 7*time.Second, false)},
				"deploy kubectl":             {deploy("a5"), deploy("a6")},
				"resource Deployment/ns/app": {check("a5"), check("a6")},
			},
		}, {
			name: "runs in /b",
			q:    store.TrendQuery{WorkingDir: "/b"},
			want: map[string][]point{
				"build app": {build("b1", 4*time.Second, false)}, "deploy kubectl": {deploy("b1")}, "resource Deployment/ns/app": {check("b1")},
			},
		}, {
			name: "a command without runs",
			q:    store.TrendQuery{Command: "build"},
			want: map[string][]point{},
		}} {
			t.Run(tc.name, func(t *testing.T) {
				tr, err := st.Trends(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, summary(tr)); diff != "" {
					t.Errorf("trends (-want +got):\n%s", diff)
				}
				var kinds []string
				for _, s := range tr.Series {
					kinds = append(kinds, string(s.Kind))
				}
				if len(kinds) > 0 && fmt.Sprint(kinds) != "[build deploy resource]" {
					t.Errorf("series in the order %v, want builds, deploys, then resources", kinds)
				}
				if diff := cmp.Diff([]string{"/a", "/b"}, tr.WorkingDirs); diff != "" {
					t.Errorf("working directories (-want +got):\n%s", diff)
				}
			})
		}
	})
}
