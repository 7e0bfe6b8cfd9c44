package skaffoldapi

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	"github.com/hoist-dev/hoist/internal/event"
)

// The v1 events the tests expect.

func v1Meta(command string) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_MetaEvent{MetaEvent: &skaffoldv1.MetaEvent{
		Entry: "Starting hoist: {Version:v0.1.0 Command:" + command + " WorkingDir:/src/app}", Metadata: &skaffoldv1.Metadata{
			Build: &skaffoldv1.BuildMetadata{NumberOfArtifacts: 1, Type: enums.BuildType_LOCAL,
				Builders: []*skaffoldv1.BuildMetadata_ImageBuilder{{Type: enums.BuilderType_DOCKER, Count: 1}}},
			Deploy: &skaffoldv1.DeployMetadata{Cluster: enums.ClusterType_OTHER, Deployers: []*skaffoldv1.DeployMetadata_Deployer{
				{Type: enums.DeployerType_KUBECTL, Count: 1}}},
		}}}}
}

func v1DevLoop(iteration int32, status string, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_DevLoopEvent{DevLoopEvent: &skaffoldv1.DevLoopEvent{Iteration: iteration, Status: status, Err: ae}}}
}

func v1Build(image, status string, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_BuildEvent{BuildEvent: &skaffoldv1.BuildEvent{
		Artifact: image, Status: status, HostPlatform: hostPlatform, Err: ae.GetMessage(), ErrCode: ae.GetErrCode(), ActionableErr: ae}}}
}

func v1Test(status string, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_TestEvent{TestEvent: &skaffoldv1.TestEvent{Status: status, ActionableErr: ae}}}
}

func v1Deploy(status string, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_DeployEvent{DeployEvent: &skaffoldv1.DeployEvent{
		Status: status, Err: ae.GetMessage(), ErrCode: ae.GetErrCode(), ActionableErr: ae}}}
}

func v1Check(status string, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_StatusCheckEvent{StatusCheckEvent: &skaffoldv1.StatusCheckEvent{
		Status: status, Err: ae.GetMessage(), ErrCode: ae.GetErrCode(), ActionableErr: ae}}}
}

func v1Resource(resource, status, message, errText string, code enums.StatusCode, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_ResourceStatusCheckEvent{ResourceStatusCheckEvent: &skaffoldv1.ResourceStatusCheckEvent{
		Resource: resource, Status: status, Message: message, Err: errText, StatusCode: code, ActionableErr: ae}}}
}

func v1Sync(count int32, status string, ae *skaffoldv1.ActionableErr) *skaffoldv1.Event {
	return &skaffoldv1.Event{EventType: &skaffoldv1.Event_FileSyncEvent{FileSyncEvent: &skaffoldv1.FileSyncEvent{
		FileCount: count, Image: appRef, Status: status, Err: ae.GetMessage(), ErrCode: ae.GetErrCode(), ActionableErr: ae}}}
}

func v1Err(code enums.StatusCode, message string, suggestions ...*skaffoldv1.Suggestion) *skaffoldv1.ActionableErr {
	return &skaffoldv1.ActionableErr{ErrCode: code, Message: message, Suggestions: suggestions}
}

// translateV1 translates before, then event, and returns what event
// translates into.
func translateV1(t *testing.T, o Options, before []*pb.Event, ev *pb.Event) []*skaffoldv1.Event {
	t.Helper()
	tr := NewV1(o)
	var got []*skaffoldv1.Event
	for _, env := range envelopes(append(slices.Clone(before), ev)...) {
		got = tr.Translate(env)
	}
	return got
}

var daemonSuggestionV1 = &skaffoldv1.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_DOCKER_RUNNING, Action: "start dockerd, or set DOCKER_HOST"}

// v1Cases translate each kind of hoist event, named by its payload type.
var v1Cases = []struct {
	name   string
	before []*pb.Event
	event  *pb.Event
	want   []*skaffoldv1.Event
}{
	{name: "metaEvent", event: metaEv("dev", "kubectl", "app"), want: []*skaffoldv1.Event{v1Meta("dev")}},

	{name: "devLoopEvent/first iteration is 0", before: devStarted[:1], event: devLoopEv(1, pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv1.Event{v1DevLoop(0, v1InProgress, nil)}},
	{name: "devLoopEvent/succeeded", before: checking, event: devLoopEv(1, pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv1.Event{v1Check(v1Succeeded, nil), v1Deploy(v1Complete, nil), v1DevLoop(0, v1Succeeded, nil)}},
	{name: "devLoopEvent/succeeded without a status check", before: deployed, event: devLoopEv(1, pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv1.Event{v1Deploy(v1Complete, nil), v1DevLoop(0, v1Succeeded, nil)}},
	{name: "devLoopEvent/build failed", before: append(slices.Clone(building), buildEv("app", pb.Status_FAILED, daemonErr)),
		event: devLoopEv(1, pb.Status_FAILED, nil),
		want:  []*skaffoldv1.Event{v1DevLoop(0, v1Failed, v1Err(enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING, daemonErr.Message, daemonSuggestionV1))}},
	{name: "devLoopEvent/config invalid", before: append(slices.Clone(iterated), devLoopEv(2, pb.Status_IN_PROGRESS, nil)),
		event: devLoopEv(2, pb.Status_FAILED, configErr),
		want:  []*skaffoldv1.Event{v1DevLoop(1, v1Failed, v1Err(enums.StatusCode_CONFIG_FILE_PARSING_ERR, configErr.Message))}},

	{name: "buildEvent/started is reported when it builds", before: devStarted, event: buildEv("app", pb.Status_IN_PROGRESS, nil), want: nil},
	{name: "buildEvent/first step", before: building, event: buildLineEv("app", "Step 1/3 : FROM busybox", true),
		want: []*skaffoldv1.Event{v1Build("app", v1InProgress, nil)}},
	{name: "buildEvent/line", before: append(slices.Clone(building), buildLineEv("app", "Step 1/3 : FROM busybox", true)),
		event: buildLineEv("app", " ---> 4a2b", false), want: nil},
	{name: "buildEvent/succeeded", before: built[:len(built)-1], event: buildEv("app", pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv1.Event{v1Build("app", v1Complete, nil)}},
	{name: "buildEvent/skipped is not built", before: building, event: buildEv("app", pb.Status_SKIPPED, nil), want: nil},
	{name: "buildEvent/failed", before: building, event: buildEv("app", pb.Status_FAILED, daemonErr),
		want: []*skaffoldv1.Event{v1Build("app", v1InProgress, nil),
			v1Build("app", v1Failed, v1Err(enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING, daemonErr.Message, daemonSuggestionV1))}},
	{name: "buildEvent/canceled", before: append(slices.Clone(building), buildEv("app", pb.Status_FAILED, daemonErr)),
		event: buildEv("web", pb.Status_CANCELED, canceledErr),
		want:  []*skaffoldv1.Event{v1Build("web", v1Canceled, v1Err(enums.StatusCode_BUILD_CANCELLED, canceledErr.Message))}},

	{name: "testEvent/started", before: built, event: testEv("app", pb.Status_IN_PROGRESS, "", nil),
		want: []*skaffoldv1.Event{v1Test(v1InProgress, nil)}},
	{name: "testEvent/line", before: append(slices.Clone(built), testEv("app", pb.Status_IN_PROGRESS, "", nil)),
		event: testEv("app", pb.Status_IN_PROGRESS, "ok", nil), want: nil},
	{name: "testEvent/succeeded", before: append(slices.Clone(built), testEv("app", pb.Status_IN_PROGRESS, "", nil)),
		event: testEv("app", pb.Status_SUCCEEDED, "", nil), want: []*skaffoldv1.Event{v1Test(v1Complete, nil)}},
	{name: "testEvent/failed", before: append(slices.Clone(built), testEv("app", pb.Status_IN_PROGRESS, "", nil)),
		event: testEv("app", pb.Status_FAILED, "", testErr),
		want: []*skaffoldv1.Event{v1Test(v1Failed, v1Err(enums.StatusCode_TEST_CUSTOM_CMD_RUN_NON_ZERO_EXIT_ERR, testErr.Message,
			&skaffoldv1.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CUSTOM_COMMAND, Action: "run the command by hand in the test's context with IMAGE set to the image"}))}},

	{name: "renderEvent", before: []*pb.Event{metaEv("render", "kubectl", "app")}, event: renderEv(pb.Status_IN_PROGRESS, nil), want: nil},

	{name: "deployEvent/started", before: built, event: deployEv("kubectl", pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv1.Event{v1Deploy(v1InProgress, nil)}},
	{name: "deployEvent/applied", before: deploying, event: appliedEv("kubectl", "Deployment", "default", "app", "created"), want: nil},
	// Skaffold's deploy completes once its status check has.
	{name: "deployEvent/succeeded", before: deployed[:len(deployed)-1], event: deployEv("kubectl", pb.Status_SUCCEEDED, nil), want: nil},
	{name: "deployEvent/failed", before: deploying, event: deployEv("kubectl", pb.Status_FAILED, applyErr),
		want: []*skaffoldv1.Event{v1Deploy(v1Failed, v1Err(enums.StatusCode_DEPLOY_KUBECTL_USER_ERR, applyErr.Message))}},
	{name: "deployEvent/cleanup of dev", before: iterated, event: appliedEv("kubectl", "Deployment", "default", "app", "deleted"), want: nil},

	{name: "statusCheckEvent/started", before: deployed, event: checkEv("", pb.Status_IN_PROGRESS, "waiting", nil),
		want: []*skaffoldv1.Event{v1Check(v1Started, nil)}},
	{name: "statusCheckEvent/resource pending", before: checking, event: checkEv("Deployment/default/app", pb.Status_IN_PROGRESS, "0/1 replicas ready", nil),
		want: []*skaffoldv1.Event{v1Resource("deployment/app", v1InProgress, "0/1 replicas ready", "", enums.StatusCode_STATUSCHECK_DEPLOYMENT_ROLLOUT_PENDING,
			v1Err(enums.StatusCode_STATUSCHECK_DEPLOYMENT_ROLLOUT_PENDING, "0/1 replicas ready"))}},
	{name: "statusCheckEvent/resource ready", before: checking, event: checkEv("Deployment/prod/app", pb.Status_SUCCEEDED, "ready", nil),
		want: []*skaffoldv1.Event{v1Resource("prod:deployment/app", v1Succeeded, "Succeeded", "", enums.StatusCode_STATUSCHECK_SUCCESS, nil)}},
	{name: "statusCheckEvent/resource failed", before: checking, event: checkEv("Pod/default/job-x", pb.Status_FAILED, "", pullErr),
		want: []*skaffoldv1.Event{v1Resource("pod/job-x", v1Failed, "", pullErr.Message, enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR,
			v1Err(enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR, pullErr.Message, &skaffoldv1.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CONTAINER_IMAGE,
				Action: "check the image reference, and that the cluster can reach and log in to its registry"}))}},
	{name: "statusCheckEvent/succeeded", before: checking, event: checkEv("", pb.Status_SUCCEEDED, "1 resources ready", nil),
		want: []*skaffoldv1.Event{v1Check(v1Succeeded, nil), v1Deploy(v1Complete, nil)}},
	{name: "statusCheckEvent/failed", before: checking, event: checkEv("", pb.Status_FAILED, "", unknownErr),
		want: []*skaffoldv1.Event{v1Check(v1Failed, v1Err(enums.StatusCode_STATUSCHECK_UNKNOWN, unknownErr.Message,
			&skaffoldv1.Suggestion{SuggestionCode: enums.SuggestionCode_OPEN_ISSUE, Action: "run again with -v debug and report the output as a bug"})),
			v1Deploy(v1Failed, v1Err(enums.StatusCode_STATUSCHECK_UNKNOWN, unknownErr.Message,
				&skaffoldv1.Suggestion{SuggestionCode: enums.SuggestionCode_OPEN_ISSUE, Action: "run again with -v debug and report the output as a bug"}))}},

	{name: "portEvent", before: iterated, event: portEv(9000, "app-1"),
		want: []*skaffoldv1.Event{{EventType: &skaffoldv1.Event_PortEvent{PortEvent: &skaffoldv1.PortEvent{
			LocalPort: 9000, RemotePort: 8080, PodName: "app-1", ContainerName: "web", Namespace: "default", ResourceType: "service",
			ResourceName: "getting-started", Address: "127.0.0.1", TargetPort: &skaffoldv1.IntOrString{IntVal: 8080}}}}}},

	{name: "applicationLogEvent", before: iterated, event: appLogEv("listening"), want: nil},

	{name: "fileSyncEvent/started", before: iterating, event: syncEv("app", 2, pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv1.Event{v1Sync(2, v1InProgress, nil)}},
	{name: "fileSyncEvent/succeeded", before: iterating, event: syncEv("app", 2, pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv1.Event{v1Sync(2, v1Succeeded, nil)}},
	{name: "fileSyncEvent/failed", before: iterating, event: syncEv("app", 1, pb.Status_FAILED, syncErr),
		want: []*skaffoldv1.Event{v1Sync(1, v1Failed, v1Err(enums.StatusCode_SYNC_UNKNOWN, syncErr.Message))}},

	{name: "terminationEvent", before: iterated, event: terminationEv(pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv1.Event{{EventType: &skaffoldv1.Event_TerminationEvent{TerminationEvent: &skaffoldv1.TerminationEvent{Status: v1Completed}}}}},
	{name: "terminationEvent/failed", before: []*pb.Event{metaEv("run", "", "")}, event: terminationEv(pb.Status_FAILED, configErr),
		want: []*skaffoldv1.Event{{EventType: &skaffoldv1.Event_TerminationEvent{TerminationEvent: &skaffoldv1.TerminationEvent{
			Status: v1Failed, Err: v1Err(enums.StatusCode_CONFIG_FILE_PARSING_ERR, configErr.Message)}}}}},
}

func TestV1Translate(t *testing.T) {
	for _, tt := range v1Cases {
		t.Run(tt.name, func(t *testing.T) {
			got := translateV1(t, options, tt.before, tt.event)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Translate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestV1CasesCoverEveryPayload(t *testing.T) {
	covered := map[string]bool{}
	for _, tt := range v1Cases {
		covered[event.TypeOf(tt.event)] = true
	}
	for _, p := range event.PayloadTypes {
		if !covered[p] {
			t.Errorf("no case translates a %s", p)
		}
	}
}

// TestLogEntry checks the entries of Skaffold's v1 event log.
func TestLogEntry(t *testing.T) {
	tests := []struct {
		ev   *skaffoldv1.Event
		want string
	}{
		{v1Meta("dev"), "Starting hoist: {Version:v0.1.0 Command:dev WorkingDir:/src/app}"},
		{v1Build("app", v1InProgress, nil), "Build started for artifact app"},
		{v1Build("app", v1Complete, nil), "Build completed for artifact app"},
		{v1Build("app", v1Failed, nil), "Build failed for artifact app"},
		{v1Deploy(v1InProgress, nil), "Deploy started"},
		{v1Deploy(v1Complete, nil), "Deploy completed"},
		{v1Test(v1Failed, nil), "Test failed"},
		{v1Check(v1Started, nil), "Status check started"},
		{v1Check(v1Succeeded, nil), "Status check succeeded"},
		{v1Resource("deployment/app", v1InProgress, "", "", 0, nil), "Resource deployment/app status updated to In Progress"},
		{v1Resource("deployment/app", v1Succeeded, "", "", 0, nil), "Resource deployment/app status completed successfully"},
		{v1Resource("deployment/app", v1Failed, "", "ImagePullBackOff", 0, nil), "Resource deployment/app status failed with ImagePullBackOff"},
		{v1Sync(2, v1InProgress, nil), "File sync started for 2 files for " + appRef},
		{v1Sync(2, v1Succeeded, nil), "File sync succeeded for 2 files for " + appRef},
		{v1DevLoop(0, v1InProgress, nil), "Update initiated"},
		{v1DevLoop(0, v1Succeeded, nil), "Update succeeded"},
		{v1DevLoop(1, v1Failed, v1Err(enums.StatusCode_BUILD_USER_ERROR, "")), "Update failed with error code BUILD_USER_ERROR"},
		{&skaffoldv1.Event{EventType: &skaffoldv1.Event_PortEvent{PortEvent: &skaffoldv1.PortEvent{ContainerName: "web", LocalPort: 9000}}},
			"Forwarding container web to local port 9000"},
	}
	env := envelopes(metaEv("dev", "kubectl", "app"))[0]
	for _, tt := range tests {
		got := LogEntry(env, tt.ev)
		want := &skaffoldv1.LogEntry{Timestamp: timestamppb.New(when), Event: tt.ev, Entry: tt.want}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("LogEntry (-want +got):\n%s", diff)
		}
	}
}
