package timeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// at is the time of event seq in these runs: one a second.
func at(seq int) time.Time { return t0.Add(time.Duration(seq) * time.Second) }

// events numbers payloads from 1, a second apart.
func events(payloads ...any) []*pb.Event {
	var out []*pb.Event
	for i, p := range payloads {
		ev := &pb.Event{Sequence: uint32(i + 1), Timestamp: timestamppb.New(at(i + 1))}
		switch p := p.(type) {
		case *pb.MetaEvent:
			ev.Payload = &pb.Event_MetaEvent{MetaEvent: p}
		case *pb.BuildEvent:
			ev.Payload = &pb.Event_BuildEvent{BuildEvent: p}
		case *pb.TestEvent:
			ev.Payload = &pb.Event_TestEvent{TestEvent: p}
		case *pb.DeployEvent:
			ev.Payload = &pb.Event_DeployEvent{DeployEvent: p}
		case *pb.StatusCheckEvent:
			ev.Payload = &pb.Event_StatusCheckEvent{StatusCheckEvent: p}
		case *pb.DevLoopEvent:
			ev.Payload = &pb.Event_DevLoopEvent{DevLoopEvent: p}
		case *pb.FileSyncEvent:
			ev.Payload = &pb.Event_FileSyncEvent{FileSyncEvent: p}
		case *pb.RenderEvent:
			ev.Payload = &pb.Event_RenderEvent{RenderEvent: p}
		case *pb.TerminationEvent:
			ev.Payload = &pb.Event_TerminationEvent{TerminationEvent: p}
		default:
			panic(p)
		}
		out = append(out, ev)
	}
	return out
}

const (
	inProgress = pb.Status_IN_PROGRESS
	succeeded  = pb.Status_SUCCEEDED
	failed     = pb.Status_FAILED
	canceled   = pb.Status_CANCELED
	skipped    = pb.Status_SKIPPED
)

func span(id, parent int, kind timeline.Kind, name, detail string, from, to int, st pb.Status) timeline.Span {
	s := timeline.Span{ID: id, Parent: parent, Kind: kind, Name: name, Detail: detail, Start: at(from), End: at(to),
		Status: st, From: uint32(from), To: uint32(to)}
	if st == inProgress {
		s.End = time.Time{}
	}
	return s
}

// final folds events and returns every span as it ended up, by id.
func final(f *timeline.Fold, evs []*pb.Event) []timeline.Span {
	byID := map[int]timeline.Span{}
	n := 0
	for _, ev := range evs {
		f.Apply(ev)
		for _, s := range f.Changed() {
			byID[s.ID] = s
			n = max(n, s.ID)
		}
	}
	var out []timeline.Span
	for id := 1; id <= n; id++ {
		out = append(out, byID[id])
	}
	return out
}

func TestFold(t *testing.T) {
	step := func(i uint32, instr string) *pb.BuildEvent {
		return &pb.BuildEvent{Image: "app", Status: inProgress, Log: "Step", Step: &pb.Step{Index: i, Total: 2, Instruction: instr}}
	}
	line := func(image, l string) *pb.BuildEvent { return &pb.BuildEvent{Image: image, Status: inProgress, Log: l} }
	for _, tc := range []struct {
		name   string
		events []*pb.Event
		want   []timeline.Span
	}{{
		name: "a run: build with steps and push, test, deploy, status check",
		events: events(
			&pb.MetaEvent{Command: "run", WorkingDir: "/src"},                 // 1
			&pb.BuildEvent{Image: "app", Status: inProgress},                  // 2
			step(1, "FROM busybox"),                                           // 3
			step(2, "RUN make"),                                               // 4
			line("app", "compiling"),                                          // 5
			line("app", "The push refers to repository [127.0.0.1:5000/app]"), // 6
			line("app", "abc: Pushed"),                                        // 7
			&pb.BuildEvent{Image: "app", Status: succeeded},                   // 8
			&pb.TestEvent{Image: "app", Status: inProgress},                   // 9
			&pb.TestEvent{Image: "app", Status: succeeded},                    // 10
			&pb.DeployEvent{Deployer: "kubectl", Status: inProgress},          // 11
			&pb.DeployEvent{Deployer: "kubectl", Status: inProgress, Resources: []*pb.Resource{{Kind: "Deployment", Name: "app"}}}, // 12
			&pb.DeployEvent{Deployer: "kubectl", Status: succeeded},                                                                // 13
			&pb.StatusCheckEvent{Status: inProgress},                                                                               // 14
			&pb.StatusCheckEvent{Resource: "deployment/ns/app", Status: inProgress},                                                // 15
			&pb.StatusCheckEvent{Resource: "deployment/ns/db", Status: inProgress},                                                 // 16
			&pb.StatusCheckEvent{Resource: "deployment/ns/app", Status: succeeded},                                                 // 17
			&pb.StatusCheckEvent{Resource: "deployment/ns/db", Status: succeeded},                                                  // 18
			&pb.StatusCheckEvent{Status: succeeded},                                                                                // 19
			&pb.TerminationEvent{Status: succeeded},                                                                                // 20
		),
		want: []timeline.Span{
			span(1, 0, timeline.Build, "app", "", 2, 8, succeeded),
			span(2, 1, timeline.Step, "app", "1/2 FROM busybox", 3, 4, succeeded),
			span(3, 1, timeline.Step, "app", "2/2 RUN make", 4, 6, succeeded),
			span(4, 1, timeline.Push, "app", "", 6, 8, succeeded),
			span(5, 0, timeline.Test, "app", "", 9, 10, succeeded),
			span(6, 0, timeline.Deploy, "kubectl", "", 11, 13, succeeded),
			span(7, 0, timeline.Check, "status check", "", 14, 19, succeeded),
			{ID: 8, Parent: 7, Kind: timeline.Resource, Name: "deployment/ns/app", Start: at(14), End: at(17), Status: succeeded, From: 15, To: 17},
			{ID: 9, Parent: 7, Kind: timeline.Resource, Name: "deployment/ns/db", Start: at(14), End: at(18), Status: succeeded, From: 16, To: 18},
		},
	}, {
		name: "a failed step fails, the other build is canceled, the run ends what is open",
		events: events(
			&pb.BuildEvent{Image: "app", Status: inProgress}, // 1
			&pb.BuildEvent{Image: "web", Status: inProgress}, // 2
			step(1, "RUN make"), // 3
			&pb.BuildEvent{Image: "app", Status: failed, Error: &pb.Error{Code: "BUILD_RUN_FAILED"}}, // 4
			&pb.BuildEvent{Image: "web", Status: canceled},                                           // 5
			&pb.BuildEvent{Image: "cached", Status: skipped},                                         // 6
			&pb.DevLoopEvent{Iteration: 1, Status: inProgress},                                       // 7
			&pb.FileSyncEvent{Image: "web", Status: inProgress},                                      // 8
			&pb.TerminationEvent{Status: failed},                                                     // 9
		),
		want: []timeline.Span{
			span(1, 0, timeline.Build, "app", "BUILD_RUN_FAILED", 1, 4, failed),
			span(2, 0, timeline.Build, "web", "", 2, 5, canceled),
			span(3, 1, timeline.Step, "app", "1/2 RUN make", 3, 4, failed),
			span(4, 0, timeline.Build, "cached", "", 6, 6, skipped),
			span(5, 0, timeline.Iteration, "1", "", 7, 9, canceled),
			span(6, 0, timeline.Sync, "web", "", 8, 9, canceled),
		},
	}, {
		name: "a status check that fails cancels what it still waited for",
		events: events(
			&pb.StatusCheckEvent{Status: inProgress},                                                                            // 1
			&pb.StatusCheckEvent{Resource: "deployment/ns/app", Status: inProgress},                                             // 2
			&pb.StatusCheckEvent{Resource: "deployment/ns/db", Status: failed, Error: &pb.Error{Code: "STATUSCHECK_CRASHLOOP"}}, // 3
			&pb.StatusCheckEvent{Status: failed, Error: &pb.Error{Code: "STATUSCHECK_CRASHLOOP"}},                               // 4
			&pb.RenderEvent{Status: inProgress},                                                                                 // 5
			&pb.RenderEvent{Status: succeeded},                                                                                  // 6
		),
		want: []timeline.Span{
			span(1, 0, timeline.Check, "status check", "STATUSCHECK_CRASHLOOP", 1, 4, failed),
			{ID: 2, Parent: 1, Kind: timeline.Resource, Name: "deployment/ns/app", Start: at(1), End: at(4), Status: canceled, From: 2, To: 4},
			{ID: 3, Parent: 1, Kind: timeline.Resource, Name: "deployment/ns/db", Detail: "STATUSCHECK_CRASHLOOP", Start: at(1), End: at(3), Status: failed, From: 3, To: 3},
			span(4, 0, timeline.Render, "render", "", 5, 6, succeeded),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := final(timeline.New(), tc.events)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFoldResumes folds a run in two batches, saving and resuming the
// fold between them, and gets the spans of one fold.
func TestFoldResumes(t *testing.T) {
	evs := events(
		&pb.MetaEvent{Command: "dev", WorkingDir: "/src"},
		&pb.DevLoopEvent{Iteration: 1, Status: inProgress},
		&pb.BuildEvent{Image: "app", Status: inProgress},
		&pb.BuildEvent{Image: "app", Status: inProgress, Log: "Step 1/1", Step: &pb.Step{Index: 1, Total: 1, Instruction: "FROM x"}},
		&pb.BuildEvent{Image: "app", Status: succeeded},
		&pb.DevLoopEvent{Iteration: 1, Status: succeeded},
		&pb.TerminationEvent{Status: canceled},
	)
	want := final(timeline.New(), evs)
	for cut := range len(evs) + 1 {
		f := timeline.New()
		first := final(f, evs[:cut])
		saved, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		resumed := &timeline.Fold{}
		if err := json.Unmarshal(saved, resumed); err != nil {
			t.Fatalf("resuming %s: %v", saved, err)
		}
		if resumed.WorkingDir != "/src" && cut > 0 || resumed.Command != "dev" && cut > 0 {
			t.Errorf("cut at %d: resumed a fold of %q in %q", cut, resumed.Command, resumed.WorkingDir)
		}
		rest := final(resumed, evs[cut:])
		got := map[int]timeline.Span{}
		for _, s := range append(first, rest...) {
			if s.ID != 0 {
				got[s.ID] = s
			}
		}
		var spans []timeline.Span
		for id := 1; id <= len(got); id++ {
			spans = append(spans, got[id])
		}
		if diff := cmp.Diff(want, spans); diff != "" {
			t.Errorf("cut at %d: spans (-one fold +resumed):\n%s", cut, diff)
		}
	}
}

func TestSpanJSON(t *testing.T) {
	s := span(3, 1, timeline.Step, "app", "2/2 RUN make", 4, 6, failed)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":3,"parent":1,"kind":"step","name":"app","detail":"2/2 RUN make","start":"2026-11-01T12:00:04Z","end":"2026-11-01T12:00:06Z","status":"FAILED","from":4,"to":6}`
	if string(data) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", data, want)
	}
	var back timeline.Span
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("read back (-wrote +read):\n%s", diff)
	}
	open := span(1, 0, timeline.Build, "app", "", 1, 1, inProgress)
	if data, _ := json.Marshal(open); string(data) != `{"id":1,"kind":"build","name":"app","start":"2026-11-01T12:00:01Z","status":"IN_PROGRESS","from":1,"to":1}` {
		t.Errorf("an open span: %s", data)
	}
	if err := json.Unmarshal([]byte(`{"id":1,"status":"DONE"}`), &back); err == nil {
		t.Error("a span of an unknown status was read")
	}
}
