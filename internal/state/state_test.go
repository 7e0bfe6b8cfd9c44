package state_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/state"
)

const runID = "0190aaaa-0000-7000-8000-000000000000"

// envelopes stamps events as the bus does: run id and sequence from 1.
func envelopes(evs ...*pb.Event) []*pb.Envelope {
	out := make([]*pb.Envelope, len(evs))
	for i, ev := range evs {
		ev.Sequence = uint32(i + 1)
		out[i] = &pb.Envelope{EventId: runID, Event: ev}
	}
	return out
}

func meta(command string, images ...string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: command, Artifacts: images}}}
}

func buildEv(e *pb.BuildEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: e}}
}

func deployEv(e *pb.DeployEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: e}}
}

func checkEv(e *pb.StatusCheckEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: e}}
}

func portEv(e *pb.PortEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_PortEvent{PortEvent: e}}
}

func end(status pb.Status, e *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: status, Error: e}}}
}

func TestTracker(t *testing.T) {
	errRun := &pb.Error{Code: "BUILD_RUN_FAILED", Message: "exit status 2"}
	errApply := &pb.Error{Code: "DEPLOY_APPLY_FAILED", Message: "forbidden"}
	errCheck := &pb.Error{Code: "STATUS_CHECK_CRASH_LOOP", Message: "CrashLoopBackOff"}
	app1 := &pb.Artifact{ImageName: "app", Tag: "reg/app:v1", Digest: "sha256:1"}
	app2 := &pb.Artifact{ImageName: "app", Tag: "reg/app:v2", Digest: "sha256:2"}
	deployment := &pb.Resource{Kind: "Deployment", Namespace: "ns", Name: "app", Action: "created"}
	service := &pb.Resource{Kind: "Service", Namespace: "ns", Name: "app", Action: "configured"}
	web1 := &pb.PortEvent{LocalPort: 9000, RemotePort: 8080, Pod: "web-1", Container: "web", Namespace: "ns",
		ResourceType: "service", ResourceName: "web", Address: "127.0.0.1"}
	// The same forward, moved to a new pod.
	web2 := &pb.PortEvent{LocalPort: 9000, RemotePort: 8080, Pod: "web-2", Container: "web", Namespace: "ns",
		ResourceType: "service", ResourceName: "web", Address: "127.0.0.1"}
	// The same local port on another address is another forward.
	api := &pb.PortEvent{LocalPort: 9000, RemotePort: 80, Pod: "api-1", Namespace: "ns",
		ResourceType: "pod", ResourceName: "api-1", Address: "127.0.0.2"}

	for _, tc := range []struct {
		name   string
		events []*pb.Event
		want   *pb.State
	}{
		{
			name: "a run that has not started",
			want: &pb.State{Status: pb.Status_IN_PROGRESS},
		},
		{
			name:   "the metaEvent names the command and the artifacts",
			events: []*pb.Event{meta("build", "app", "web")},
			want: &pb.State{EventId: runID, LastSequence: 1, Command: "build", Status: pb.Status_IN_PROGRESS,
				Artifacts: []*pb.ArtifactState{{Image: "app"}, {Image: "web"}}},
		},
		{
			name: "builds: the last status, artifact and error of each; output lines change nothing",
			events: []*pb.Event{
				meta("build", "app", "web"),
				buildEv(&pb.BuildEvent{Image: "web", Status: pb.Status_IN_PROGRESS}),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: "Step 1/2 : FROM scratch"}),
				buildEv(&pb.BuildEvent{Image: "web", Status: pb.Status_FAILED, Error: errRun}),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_SUCCEEDED, Artifact: app1}),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: "a late line"}),
			},
			want: &pb.State{EventId: runID, LastSequence: 7, Command: "build", Status: pb.Status_IN_PROGRESS,
				Artifacts: []*pb.ArtifactState{
					{Image: "app", Status: pb.Status_SUCCEEDED, Artifact: app1},
					{Image: "web", Status: pb.Status_FAILED, Error: errRun},
				}},
		},
		{
			name: "a rebuild in hoist dev clears the error and keeps the last image until a new one",
			events: []*pb.Event{
				meta("dev", "app"),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_SUCCEEDED, Artifact: app1}),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_FAILED, Error: errRun}),
				buildEv(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}),
			},
			want: &pb.State{EventId: runID, LastSequence: 4, Command: "dev", Status: pb.Status_IN_PROGRESS,
				Artifacts: []*pb.ArtifactState{{Image: "app", Status: pb.Status_IN_PROGRESS, Artifact: app1}}},
		},
		{
			name: "an artifact the metaEvent did not name is added",
			events: []*pb.Event{
				meta("build", "app"),
				buildEv(&pb.BuildEvent{Image: "extra", Status: pb.Status_SKIPPED, Artifact: app2}),
			},
			want: &pb.State{EventId: runID, LastSequence: 2, Command: "build", Status: pb.Status_IN_PROGRESS,
				Artifacts: []*pb.ArtifactState{{Image: "app"}, {Image: "extra", Status: pb.Status_SKIPPED, Artifact: app2}}},
		},
		{
			name: "a deploy: its objects in order, then its manifests",
			events: []*pb.Event{
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{deployment}}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{service}}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_SUCCEEDED, Manifests: []string{"k8s/app.yaml"}}),
			},
			want: &pb.State{EventId: runID, LastSequence: 4, Status: pb.Status_IN_PROGRESS,
				Deploy: &pb.DeployState{Deployer: "kubectl", Status: pb.Status_SUCCEEDED,
					Resources: []*pb.Resource{deployment, service}, Manifests: []string{"k8s/app.yaml"}}},
		},
		{
			name: "a line of the deploy's output is not a new deploy",
			events: []*pb.Event{
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{deployment}}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Log: "ConfigMap ns/x is marked for deletion"}),
			},
			want: &pb.State{EventId: runID, LastSequence: 3, Status: pb.Status_IN_PROGRESS,
				Deploy: &pb.DeployState{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{deployment}}},
		},
		{
			name: "a new deploy starts afresh",
			events: []*pb.Event{
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{deployment}}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_FAILED, Manifests: []string{"k8s/app.yaml"}, Error: errApply}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS}),
				deployEv(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{service}}),
			},
			want: &pb.State{EventId: runID, LastSequence: 5, Status: pb.Status_IN_PROGRESS,
				Deploy: &pb.DeployState{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{service}}},
		},
		{
			name: "status check: the latest of each resource, in the order first seen; the summary lines are not resources",
			events: []*pb.Event{
				checkEv(&pb.StatusCheckEvent{Status: pb.Status_IN_PROGRESS, Message: "waiting up to 10m0s for 2 resources to be ready"}),
				checkEv(&pb.StatusCheckEvent{Resource: "deployment/ns/app", Status: pb.Status_IN_PROGRESS, Message: "0/1 ready"}),
				checkEv(&pb.StatusCheckEvent{Resource: "deployment/ns/db", Status: pb.Status_SUCCEEDED, Message: "1/1 ready"}),
				checkEv(&pb.StatusCheckEvent{Resource: "deployment/ns/app", Status: pb.Status_FAILED, Message: "crashing", Error: errCheck}),
				checkEv(&pb.StatusCheckEvent{Status: pb.Status_FAILED, Message: "status check failed", Error: errCheck}),
			},
			want: &pb.State{EventId: runID, LastSequence: 5, Status: pb.Status_IN_PROGRESS,
				Resources: []*pb.ResourceState{
					{Resource: "deployment/ns/app", Status: pb.Status_FAILED, Message: "crashing", Error: errCheck},
					{Resource: "deployment/ns/db", Status: pb.Status_SUCCEEDED, Message: "1/1 ready"},
				}},
		},
		{
			name:   "the terminationEvent ends the run with its status and error",
			events: []*pb.Event{meta("run"), end(pb.Status_FAILED, errApply)},
			want: &pb.State{EventId: runID, LastSequence: 2, Command: "run", Status: pb.Status_FAILED,
				Error: errApply},
		},
		{
			name:   "port forwards: one per local address and port, as its last portEvent tells",
			events: []*pb.Event{meta("dev"), portEv(web1), portEv(api), portEv(web2)},
			want: &pb.State{EventId: runID, LastSequence: 4, Command: "dev", Status: pb.Status_IN_PROGRESS,
				ForwardedPorts: []*pb.PortEvent{web2, api}},
		},
		{
			name: "a dev loop iteration only moves the sequence",
			events: []*pb.Event{meta("dev"),
				{Payload: &pb.Event_DevLoopEvent{DevLoopEvent: &pb.DevLoopEvent{Iteration: 1, Status: pb.Status_FAILED, Error: errRun}}}},
			want: &pb.State{EventId: runID, LastSequence: 2, Command: "dev", Status: pb.Status_IN_PROGRESS},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envs := envelopes(tc.events...)
			tr := state.New()
			for _, env := range envs {
				tr.Apply(env)
			}
			if diff := cmp.Diff(tc.want, tr.State(), protocmp.Transform()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			// A collector stores the state between batches and goes on from
			// it: wherever the run is cut, the result is the same.
			for cut := range len(envs) + 1 {
				first := state.New()
				for _, env := range envs[:cut] {
					first.Apply(env)
				}
				rest := state.From(first.State())
				for _, env := range envs[cut:] {
					rest.Apply(env)
				}
				if diff := cmp.Diff(tc.want, rest.State(), protocmp.Transform()); diff != "" {
					t.Errorf("state going on from event %d (-want +got):\n%s", cut, diff)
				}
			}
		})
	}
}

func TestFromNil(t *testing.T) {
	if diff := cmp.Diff(state.New().State(), state.From(nil).State(), protocmp.Transform()); diff != "" {
		t.Errorf("From(nil) (-want +got):\n%s", diff)
	}
}

func TestStateIsACopy(t *testing.T) {
	tr := state.New()
	tr.Apply(envelopes(meta("build", "app"))[0])
	got := tr.State()
	got.Artifacts[0].Status = pb.Status_FAILED
	got.Command = "changed"
	want := &pb.State{EventId: runID, LastSequence: 1, Command: "build", Status: pb.Status_IN_PROGRESS,
		Artifacts: []*pb.ArtifactState{{Image: "app"}}}
	if diff := cmp.Diff(want, tr.State(), protocmp.Transform()); diff != "" {
		t.Errorf("state after changing a copy (-want +got):\n%s", diff)
	}
}
