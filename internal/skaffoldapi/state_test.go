package skaffoldapi

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/config"
)

// firstIteration is a first dev loop iteration that builds, deploys and
// checks app, and forwards a port.
var firstIteration = append(slices.Clone(iterated), portEv(9000, "app-1"))

func v2States(t *testing.T, o Options, events []*pb.Event) *skaffoldv2.State {
	t.Helper()
	tr := NewV2(o)
	for _, env := range envelopes(slices.Clone(events)...) {
		tr.Translate(env)
	}
	return tr.State()
}

func v1States(t *testing.T, o Options, events []*pb.Event) *skaffoldv1.State {
	t.Helper()
	tr := NewV1(o)
	for _, env := range envelopes(slices.Clone(events)...) {
		tr.Translate(env)
	}
	return tr.State()
}

func TestV2State(t *testing.T) {
	port := &skaffoldv2.PortForwardEvent{TaskId: "PortForward-1", LocalPort: 9000, PodName: "app-1", ContainerName: "web",
		Namespace: "default", ResourceType: "service", ResourceName: "getting-started", Address: "127.0.0.1",
		TargetPort: &skaffoldv2.IntOrString{IntVal: 8080}}
	meta := v2Meta("dev").GetMetaEvent().Metadata
	tests := []struct {
		name     string
		events   []*pb.Event
		triggers *Triggers
		want     *skaffoldv2.State
	}{
		{
			name:   "not started",
			events: devStarted[:1],
			want: &skaffoldv2.State{
				BuildState:       &skaffoldv2.BuildState{Artifacts: map[string]string{"app": "NotStarted"}, AutoTrigger: true},
				DeployState:      &skaffoldv2.DeployState{Status: "NotStarted", AutoTrigger: true},
				ForwardedPorts:   map[int32]*skaffoldv2.PortForwardEvent{},
				StatusCheckState: &skaffoldv2.StatusCheckState{Status: "NotStarted", Resources: map[string]string{}},
				FileSyncState:    &skaffoldv2.FileSyncState{Status: "NotStarted", AutoTrigger: true},
				Metadata:         meta,
				TestState:        &skaffoldv2.TestState{Status: "NotStarted"},
				RenderState:      &skaffoldv2.RenderState{Status: "NotStarted"},
				VerifyState:      &skaffoldv2.VerifyState{Status: "NotStarted"},
				ExecState:        &skaffoldv2.ExecState{Status: "NotStarted"},
			},
		},
		{
			name:     "first iteration, with auto build off",
			events:   firstIteration,
			triggers: &Triggers{Build: false, Sync: true, Deploy: true},
			want: &skaffoldv2.State{
				BuildState:       &skaffoldv2.BuildState{Artifacts: map[string]string{"app": "Succeeded"}},
				DeployState:      &skaffoldv2.DeployState{Status: "Succeeded", AutoTrigger: true},
				ForwardedPorts:   map[int32]*skaffoldv2.PortForwardEvent{9000: port},
				StatusCheckState: &skaffoldv2.StatusCheckState{Status: "NotStarted", Resources: map[string]string{"deployment/app": "Succeeded"}},
				FileSyncState:    &skaffoldv2.FileSyncState{Status: "NotStarted", AutoTrigger: true},
				Metadata:         meta,
				TestState:        &skaffoldv2.TestState{Status: "NotStarted"},
				RenderState:      &skaffoldv2.RenderState{Status: "Succeeded"},
				VerifyState:      &skaffoldv2.VerifyState{Status: "NotStarted"},
				ExecState:        &skaffoldv2.ExecState{Status: "NotStarted"},
			},
		},
		{
			// Skaffold starts each iteration's state afresh; the port
			// forwards stay, as hoist's do.
			name:   "sync iteration",
			events: append(slices.Clone(firstIteration), devLoopEv(2, pb.Status_IN_PROGRESS, nil), syncEv("app", 1, pb.Status_IN_PROGRESS, nil), syncEv("app", 1, pb.Status_SUCCEEDED, nil)),
			want: &skaffoldv2.State{
				BuildState:       &skaffoldv2.BuildState{Artifacts: map[string]string{"app": "NotStarted"}, AutoTrigger: true},
				DeployState:      &skaffoldv2.DeployState{Status: "NotStarted", AutoTrigger: true},
				ForwardedPorts:   map[int32]*skaffoldv2.PortForwardEvent{9000: port},
				StatusCheckState: &skaffoldv2.StatusCheckState{Status: "NotStarted", Resources: map[string]string{}},
				FileSyncState:    &skaffoldv2.FileSyncState{Status: "Succeeded", AutoTrigger: true},
				Metadata:         meta,
				TestState:        &skaffoldv2.TestState{Status: "NotStarted"},
				RenderState:      &skaffoldv2.RenderState{Status: "NotStarted"},
				VerifyState:      &skaffoldv2.VerifyState{Status: "NotStarted"},
				ExecState:        &skaffoldv2.ExecState{Status: "NotStarted"},
			},
		},
		{
			name:   "failed build",
			events: append(slices.Clone(building), buildEv("app", pb.Status_FAILED, daemonErr), devLoopEv(1, pb.Status_FAILED, nil)),
			want: &skaffoldv2.State{
				BuildState:       &skaffoldv2.BuildState{Artifacts: map[string]string{"app": "Failed"}, AutoTrigger: true},
				DeployState:      &skaffoldv2.DeployState{Status: "NotStarted", AutoTrigger: true},
				ForwardedPorts:   map[int32]*skaffoldv2.PortForwardEvent{},
				StatusCheckState: &skaffoldv2.StatusCheckState{Status: "NotStarted", Resources: map[string]string{}},
				FileSyncState:    &skaffoldv2.FileSyncState{Status: "NotStarted", AutoTrigger: true},
				Metadata:         meta,
				TestState:        &skaffoldv2.TestState{Status: "NotStarted"},
				RenderState:      &skaffoldv2.RenderState{Status: "NotStarted"},
				VerifyState:      &skaffoldv2.VerifyState{Status: "NotStarted"},
				ExecState:        &skaffoldv2.ExecState{Status: "NotStarted"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options
			if tt.triggers != nil {
				tr := *tt.triggers
				o.Triggers = func() Triggers { return tr }
			}
			got := v2States(t, o, tt.events)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
		})
	}
}

func TestV1State(t *testing.T) {
	port := &skaffoldv1.PortEvent{LocalPort: 9000, RemotePort: 8080, PodName: "app-1", ContainerName: "web",
		Namespace: "default", ResourceType: "service", ResourceName: "getting-started", Address: "127.0.0.1",
		TargetPort: &skaffoldv1.IntOrString{IntVal: 8080}}
	meta := v1Meta("dev").GetMetaEvent().Metadata
	// A second iteration whose build fails: Skaffold starts the state
	// afresh when an iteration builds, keeping the artifacts; hoist's port
	// forwards stay.
	rebuild := append(slices.Clone(firstIteration), devLoopEv(2, pb.Status_IN_PROGRESS, nil), buildEv("app", pb.Status_IN_PROGRESS, nil),
		buildLineEv("app", "Step 1/3 : FROM busybox", true), buildEv("app", pb.Status_FAILED, daemonErr), devLoopEv(2, pb.Status_FAILED, nil))
	tests := []struct {
		name   string
		events []*pb.Event
		want   *skaffoldv1.State
	}{
		{
			name:   "first iteration",
			events: firstIteration,
			want: &skaffoldv1.State{
				BuildState:       &skaffoldv1.BuildState{Artifacts: map[string]string{"app": "Complete"}, AutoTrigger: true},
				DeployState:      &skaffoldv1.DeployState{Status: "Complete", AutoTrigger: true, StatusCode: enums.StatusCode_DEPLOY_SUCCESS},
				ForwardedPorts:   map[int32]*skaffoldv1.PortEvent{9000: port},
				StatusCheckState: &skaffoldv1.StatusCheckState{Status: "Succeeded", Resources: map[string]string{"deployment/app": "Succeeded"}, StatusCode: enums.StatusCode_STATUSCHECK_SUCCESS},
				FileSyncState:    &skaffoldv1.FileSyncState{Status: "Not Started", AutoTrigger: true},
				Metadata:         meta,
				TestState:        &skaffoldv1.TestState{Status: "Not Started"},
			},
		},
		{
			name:   "rebuild failed",
			events: rebuild,
			want: &skaffoldv1.State{
				BuildState:       &skaffoldv1.BuildState{Artifacts: map[string]string{"app": "Failed"}, AutoTrigger: true, StatusCode: enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING},
				DeployState:      &skaffoldv1.DeployState{Status: "Not Started", AutoTrigger: true},
				ForwardedPorts:   map[int32]*skaffoldv1.PortEvent{9000: port},
				StatusCheckState: &skaffoldv1.StatusCheckState{Status: "Not Started", Resources: map[string]string{}},
				FileSyncState:    &skaffoldv1.FileSyncState{Status: "Not Started", AutoTrigger: true},
				Metadata:         meta,
				TestState:        &skaffoldv1.TestState{Status: "Not Started"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v1States(t, options, tt.events)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOptionsFor(t *testing.T) {
	cfg := &config.Config{Dir: "/src/app"}
	cfg.Build.Artifacts = []*config.Artifact{
		{ImageName: "web", Context: "/src/app/web", Docker: &config.DockerArtifact{Dockerfile: "Dockerfile.dev"}},
		{ImageName: "tool", Context: "/src/app", Custom: &config.CustomArtifact{}},
	}
	got := OptionsFor(cfg, "minikube")
	want := Options{KubeContext: "minikube", Artifacts: []Artifact{
		{Image: "web", Builder: enums.BuilderType_DOCKER, Context: "web", Dockerfile: "Dockerfile.dev"},
		{Image: "tool", Builder: enums.BuilderType_CUSTOM, Context: "."},
	}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Options{})); diff != "" {
		t.Errorf("OptionsFor (-want +got):\n%s", diff)
	}
}
