package view_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/view"
)

// t0 is when the runs of these tests start.
var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// at is an event at ms milliseconds into the run.
type at struct {
	ms int
	ev any
}

func envelopes(evs []at) []*pb.Envelope {
	out := make([]*pb.Envelope, len(evs))
	for i, a := range evs {
		ev := &pb.Event{Sequence: uint32(i + 1), Timestamp: timestamppb.New(t0.Add(time.Duration(a.ms) * time.Millisecond))}
		switch p := a.ev.(type) {
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
		case *pb.PortEvent:
			ev.Payload = &pb.Event_PortEvent{PortEvent: p}
		case *pb.FileSyncEvent:
			ev.Payload = &pb.Event_FileSyncEvent{FileSyncEvent: p}
		case *pb.DevLoopEvent:
			ev.Payload = &pb.Event_DevLoopEvent{DevLoopEvent: p}
		case *pb.RenderEvent:
			ev.Payload = &pb.Event_RenderEvent{RenderEvent: p}
		case *pb.ApplicationLogEvent:
			ev.Payload = &pb.Event_ApplicationLogEvent{ApplicationLogEvent: p}
		case *pb.TerminationEvent:
			ev.Payload = &pb.Event_TerminationEvent{TerminationEvent: p}
		default:
			panic(fmt.Sprintf("no payload %T", a.ev))
		}
		out[i] = &pb.Envelope{EventId: "run-1", Event: ev}
	}
	return out
}

func meta(command string, images ...string) *pb.MetaEvent {
	return &pb.MetaEvent{Command: command, Version: "dev", Artifacts: images, Deployer: "kubectl"}
}

func build(image string, s pb.Status) *pb.BuildEvent { return &pb.BuildEvent{Image: image, Status: s} }

func buildLog(image, line string) *pb.BuildEvent {
	return &pb.BuildEvent{Image: image, Status: pb.Status_IN_PROGRESS, Log: line}
}

func stepLog(image string, k, n uint32, instr string) *pb.BuildEvent {
	return &pb.BuildEvent{Image: image, Status: pb.Status_IN_PROGRESS, Log: fmt.Sprintf("Step %d/%d : %s", k, n, instr),
		Step: &pb.Step{Index: k, Total: n, Instruction: instr}}
}

func built(image, tag, digest string) *pb.BuildEvent {
	return &pb.BuildEvent{Image: image, Status: pb.Status_SUCCEEDED, Artifact: &pb.Artifact{ImageName: image, Tag: tag, Digest: digest}}
}

func end(s pb.Status, e *pb.Error) *pb.TerminationEvent {
	return &pb.TerminationEvent{Status: s, Error: e}
}

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestModel feeds each run's events to a model and compares what it
// printed, and its live lines at a moment of the run, with the view a
// person should see.
func TestModel(t *testing.T) {
	const rule = "── summary ────────────────────────────────────────"
	tests := []struct {
		name   string
		level  slog.Level
		events []at
		// nowMS is when the live lines are taken, after the events: a
		// whole second, for the spinner's first frame.
		nowMS int
		// printed are the lines the events print; live the lines in
		// progress at nowMS.
		printed, live []string
	}{
		{
			name: "two artifacts building in parallel, one waiting",
			events: []at{
				{0, meta("build", "frontend", "backend", "worker")},
				{10, build("frontend", pb.Status_IN_PROGRESS)},
				{20, build("backend", pb.Status_IN_PROGRESS)},
				{30, stepLog("frontend", 3, 4, "COPY --from=build /src/dist/assets/images/icons/large /app/static/img")},
				{40, stepLog("backend", 2, 5, "RUN make")},
				{1000, buildLog("backend", "cc -o app main.c")},
			},
			nowMS: 3000,
			printed: []string{
				"hoist build · hoist version dev · run id run-1",
			},
			live: []string{
				// A long instruction leaves room for the last output line.
				"⠋ step 3/4   frontend  3.0s  COPY --from=build /src/dist/assets/images/icons…",
				"⠋ step 2/5   backend   3.0s  RUN make  › cc -o app main.c",
				"· waiting    worker",
			},
		},
		{
			name: "a build that succeeds, one cached, then the summary",
			events: []at{
				{0, meta("build", "app", "db")},
				{100, build("app", pb.Status_IN_PROGRESS)},
				{150, build("db", pb.Status_IN_PROGRESS)},
				{160, &pb.BuildEvent{Image: "db", Status: pb.Status_SKIPPED, Artifact: &pb.Artifact{Tag: "reg/db:v1", Digest: digest}}},
				{200, stepLog("app", 1, 1, "FROM busybox")},
				{4300, built("app", "reg/app:v1", digest)},
				{4400, end(pb.Status_SUCCEEDED, nil)},
			},
			printed: []string{
				"hoist build · hoist version dev · run id run-1",
				"↷ cached     db   reg/db:v1@" + digest,
				"✓ built      app  reg/app:v1@" + digest + "  4.2s",
				rule,
				"  built      app  reg/app:v1@" + digest + "  4.2s",
				"             db   reg/db:v1@" + digest + "  cached",
				"✓ hoist build SUCCEEDED in 4.4s",
			},
		},
		{
			name: "a failed step's output in full, the error once, the exit reason",
			events: []at{
				{0, meta("build", "app")},
				{0, build("app", pb.Status_IN_PROGRESS)},
				{10, stepLog("app", 1, 2, "FROM busybox")},
				{20, buildLog("app", " ---> 1234")},
				{30, stepLog("app", 2, 2, "RUN make")},
				{40, buildLog("app", "make: entering")},
				{50, buildLog("app", "main.c:3: error: expected ';'")},
				{2000, &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED, Error: &pb.Error{Code: "BUILD_RUN_FAILED",
					Message:     "the build of \"app\" failed at step 2/2 (RUN make) with exit status 2: exit code: 2; last output:\nmake: entering\nmain.c:3: error: expected ';'",
					Suggestions: []string{"fix the failing command"}}}},
				{2100, end(pb.Status_FAILED, &pb.Error{Code: "BUILD_RUN_FAILED", Message: "the build of \"app\" failed at step 2/2 (RUN make) with exit status 2: exit code: 2; last output:\nmake: entering"})},
			},
			printed: []string{
				"hoist build · hoist version dev · run id run-1",
				"✗ failed     app  at step 2/2 RUN make  2.0s",
				"  │ Step 2/2 : RUN make",
				"  │ make: entering",
				"  │ main.c:3: error: expected ';'",
				`  error BUILD_RUN_FAILED: the build of "app" failed at step 2/2 (RUN make) with exit status 2: exit code: 2`,
				"  hint  fix the failing command",
				rule,
				"  built      app  FAILED at step 2/2 RUN make  2.0s",
				"✗ hoist build FAILED in 2.1s: BUILD_RUN_FAILED, exit code 3",
			},
		},
		{
			name: "deploy objects, status checks with their messages, forwarded ports",
			events: []at{
				{0, meta("run", "app")},
				{0, build("app", pb.Status_IN_PROGRESS)},
				{1000, built("app", "reg/app:v1", digest)},
				{1100, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl"}},
				{1200, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl", Resources: []*pb.Resource{
					{Kind: "Deployment", Namespace: "default", Name: "app", Action: "created"},
					{Kind: "Service", Namespace: "default", Name: "app", Action: "unchanged"}}}},
				{1300, &pb.DeployEvent{Status: pb.Status_SUCCEEDED, Deployer: "kubectl", Manifests: []string{"k8s/app.yaml"}}},
				{1400, &pb.StatusCheckEvent{Status: pb.Status_IN_PROGRESS, Message: "waiting up to 10m0s for 1 resources to be ready"}},
				{1500, &pb.StatusCheckEvent{Resource: "Deployment/default/app", Status: pb.Status_IN_PROGRESS, Message: "0 of 2 updated replicas available"}},
				{3000, &pb.StatusCheckEvent{Resource: "Deployment/default/app", Status: pb.Status_IN_PROGRESS, Message: "1 of 2 updated replicas available"}},
			},
			nowMS: 5000,
			printed: []string{
				"hoist run · hoist version dev · run id run-1",
				"✓ built      app  reg/app:v1@" + digest + "  1.0s",
				"  kubectl    created     Deployment/default/app",
				"  kubectl    unchanged   Service/default/app",
				"✓ deployed   kubectl  2 objects  0.2s",
			},
			live: []string{
				"⠋ waiting    Deployment/default/app  3.6s  1 of 2 updated replicas available",
			},
		},
		{
			name: "a run to its end: ready, forwarded, summary",
			events: []at{
				{0, meta("run")},
				{100, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl"}},
				{200, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl", Resources: []*pb.Resource{
					{Kind: "Deployment", Namespace: "default", Name: "app", Action: "configured"},
					{Kind: "Service", Namespace: "default", Name: "app", Action: "configured"}}}},
				{300, &pb.DeployEvent{Status: pb.Status_SUCCEEDED, Deployer: "kubectl"}},
				{400, &pb.StatusCheckEvent{Status: pb.Status_IN_PROGRESS, Message: "waiting up to 10m0s for 1 resources to be ready"}},
				{500, &pb.StatusCheckEvent{Resource: "Deployment/default/app", Status: pb.Status_IN_PROGRESS, Message: "waiting for the rollout to start"}},
				{2400, &pb.StatusCheckEvent{Resource: "Deployment/default/app", Status: pb.Status_SUCCEEDED, Message: "rolled out: 2 of 2 replicas available"}},
				{2500, &pb.StatusCheckEvent{Status: pb.Status_SUCCEEDED, Message: "1 resources ready"}},
				{2600, &pb.PortEvent{LocalPort: 9000, RemotePort: 8080, Pod: "app-5c9d-x2k4p", Namespace: "default", ResourceType: "service", ResourceName: "app", Address: "127.0.0.1"}},
				{2700, &pb.ApplicationLogEvent{Pod: "app-5c9d-x2k4p", Container: "app", Namespace: "default", Message: "listening on :8080"}},
				{5000, &pb.PortEvent{LocalPort: 9000, RemotePort: 8080, Pod: "app-5c9d-q9zzt", Namespace: "default", ResourceType: "service", ResourceName: "app", Address: "127.0.0.1"}},
				{6000, end(pb.Status_CANCELED, &pb.Error{Code: "CANCELED", Message: "canceled by Ctrl-C"})},
			},
			printed: []string{
				"hoist run · hoist version dev · run id run-1",
				"  kubectl    configured  Deployment/default/app",
				"  kubectl    configured  Service/default/app",
				"✓ deployed   kubectl  2 objects  0.2s",
				"✓ ready      Deployment/default/app  rolled out: 2 of 2 replicas available  2.0s",
				"✓ checked    1 resources ready  2.1s",
				"⇄ forward    service/app  127.0.0.1:9000 → default/app-5c9d-x2k4p:8080",
				"[app-5c9d-x2k4p app] listening on :8080",
				"⇄ moved      service/app  127.0.0.1:9000 → default/app-5c9d-q9zzt:8080",
				rule,
				"  deployed   kubectl  2 objects: 2 configured  0.2s",
				"  checked    1 resources ready  2.1s",
				"  forwarded  service/app  127.0.0.1:9000 → default/app-5c9d-q9zzt:8080",
				"◌ hoist run CANCELED in 6.0s: CANCELED, exit code 130",
			},
		},
		{
			name: "a status check that fails names the resource and its pod's reason",
			events: []at{
				{0, meta("deploy")},
				{100, &pb.StatusCheckEvent{Status: pb.Status_IN_PROGRESS, Message: "waiting up to 1m0s for 1 resources to be ready"}},
				{200, &pb.StatusCheckEvent{Resource: "Deployment/default/app", Status: pb.Status_FAILED,
					Message: "Deployment/default/app: pod app-1 container app: CrashLoopBackOff: back-off",
					Error:   &pb.Error{Code: "STATUS_CHECK_CRASH_LOOP", Message: "Deployment/default/app: pod app-1 container app: CrashLoopBackOff: back-off", Suggestions: []string{"read its logs with kubectl logs"}}}},
				{300, &pb.StatusCheckEvent{Status: pb.Status_FAILED, Message: "status check failed",
					Error: &pb.Error{Code: "STATUS_CHECK_CRASH_LOOP", Message: "Deployment/default/app: pod app-1 container app: CrashLoopBackOff: back-off"}}},
			},
			printed: []string{
				"hoist deploy · hoist version dev · run id run-1",
				"✗ not ready  Deployment/default/app  Deployment/default/app: pod app-1 container app: CrashLoopBackOff: back-off  0.1s",
				"  error STATUS_CHECK_CRASH_LOOP: Deployment/default/app: pod app-1 container app: CrashLoopBackOff: back-off",
				"  hint  read its logs with kubectl logs",
				"✗ not ready  status check failed  0.2s",
				"  error STATUS_CHECK_CRASH_LOOP: Deployment/default/app: pod app-1 container app: CrashLoopBackOff: back-off",
			},
		},
		{
			name: "hoist dev: its end deletes what it deployed",
			events: []at{
				{0, meta("dev")},
				{100, &pb.DevLoopEvent{Iteration: 1, Status: pb.Status_IN_PROGRESS}},
				{100, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl"}},
				{200, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl", Resources: []*pb.Resource{
					{Kind: "Deployment", Namespace: "default", Name: "app", Action: "created"}}}},
				{300, &pb.DeployEvent{Status: pb.Status_SUCCEEDED, Deployer: "kubectl"}},
				{400, &pb.DevLoopEvent{Iteration: 1, Status: pb.Status_SUCCEEDED}},
				{9000, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl"}},
				{9100, &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl", Resources: []*pb.Resource{
					{Kind: "Deployment", Namespace: "default", Name: "app", Action: "deleted"}}}},
				{9200, &pb.DeployEvent{Status: pb.Status_SUCCEEDED, Deployer: "kubectl"}},
				{9300, end(pb.Status_SUCCEEDED, nil)},
			},
			printed: []string{
				"hoist dev · hoist version dev · run id run-1",
				"── iteration 1 ──",
				"  kubectl    created     Deployment/default/app",
				"✓ deployed   kubectl  1 object  0.2s",
				"✓ done       iteration 1  0.3s",
				"  kubectl    deleted     Deployment/default/app",
				"✓ deleted    kubectl  1 object  0.2s",
				rule,
				"  deployed   kubectl  1 object: 1 created  0.2s",
				"  deleted    kubectl  1 object: 1 deleted  0.2s",
				"  dev loop   1 iteration",
				"✓ hoist dev SUCCEEDED in 9.3s",
			},
		},
		{
			name: "hoist dev: an iteration, a sync, then watching",
			events: []at{
				{0, meta("dev", "app")},
				{100, &pb.DevLoopEvent{Iteration: 2, Status: pb.Status_IN_PROGRESS, ChangedFiles: []string{"a", "b", "c", "d"}}},
				{200, &pb.FileSyncEvent{Image: "app", FileCount: 4, Status: pb.Status_IN_PROGRESS}},
				{500, &pb.FileSyncEvent{Image: "app", FileCount: 4, Status: pb.Status_SUCCEEDED}},
				{600, &pb.DevLoopEvent{Iteration: 2, Status: pb.Status_SUCCEEDED}},
			},
			nowMS: 1000,
			printed: []string{
				"hoist dev · hoist version dev · run id run-1",
				"── iteration 2 · changed a, b, c and 1 more ──",
				"✓ synced     4 files into app  0.3s",
				"✓ done       iteration 2  0.5s",
			},
			live: []string{
				"◦ watching   for changes  Ctrl-C to stop",
			},
		},
		{
			name: "a sync and a test in progress",
			events: []at{
				{0, meta("dev", "app")},
				{100, &pb.TestEvent{Image: "app", Status: pb.Status_IN_PROGRESS}},
				{150, &pb.TestEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: "ok 1 - starts"}},
				{200, &pb.FileSyncEvent{Image: "app", FileCount: 1, Status: pb.Status_IN_PROGRESS}},
			},
			nowMS: 2000,
			printed: []string{
				"hoist dev · hoist version dev · run id run-1",
			},
			live: []string{
				"⠋ testing    app  1.9s  › ok 1 - starts",
				"⠋ syncing    1 file into app  1.8s",
			},
		},
		{
			name:  "at the error level only failures print, and the summary",
			level: slog.LevelError,
			events: []at{
				{0, meta("build", "app", "lib")},
				{0, build("app", pb.Status_IN_PROGRESS)},
				{0, build("lib", pb.Status_IN_PROGRESS)},
				{1000, built("lib", "reg/lib:v1", digest)},
				{1500, buildLog("app", "boom")},
				{2000, &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED, Error: &pb.Error{Code: "BUILD_CUSTOM_COMMAND_FAILED", Message: "the build command exited with 1"}}},
				{2000, end(pb.Status_FAILED, &pb.Error{Code: "BUILD_CUSTOM_COMMAND_FAILED", Message: "the build command exited with 1"})},
			},
			printed: []string{
				"✗ failed     app  2.0s",
				"  │ boom",
				"  error BUILD_CUSTOM_COMMAND_FAILED: the build command exited with 1",
				rule,
				"  built      app  FAILED  2.0s",
				"             lib  reg/lib:v1@" + digest + "  1.0s",
				"✗ hoist build FAILED in 2.0s: BUILD_CUSTOM_COMMAND_FAILED, exit code 3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := view.NewModel(view.Options{Level: tt.level})
			for _, env := range envelopes(tt.events) {
				m.Apply(env)
			}
			printed := strings.Split(strings.TrimSuffix(string(m.TakeLines(nil)), "\n"), "\n")
			if diff := cmp.Diff(tt.printed, printed); diff != "" {
				t.Errorf("printed (-want +got):\n%s", diff)
			}
			// The spinner's frame is the time's tenth of a second: the
			// first one at every whole second.
			live := m.Live(t0.Add(time.Duration(tt.nowMS) * time.Millisecond))
			if diff := cmp.Diff(tt.live, live); diff != "" {
				t.Errorf("live lines at %dms (-want +got):\n%s", tt.nowMS, diff)
			}
			if more := m.TakeLines(nil); len(more) != 0 {
				t.Errorf("lines printed twice: %q", more)
			}
		})
	}
}
