package skaffoldapi

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/event"
)

// The v2 events the tests expect, at the time when.

func v2At(ev *skaffoldv2.Event) *skaffoldv2.Event {
	ev.Timestamp = timestamppb.New(when)
	return ev
}

func v2Task(id, task string, iteration int32, status string, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	te := &skaffoldv2.TaskEvent{Id: id, Task: task, Iteration: iteration, Status: status, ActionableErr: ae}
	if status == v2InProgress {
		te.Description = map[string]string{"Build": "Build containers", "Test": "Test", "Render": "Render Manifests",
			"Deploy": "Deploy to cluster", "StatusCheck": "Status Checking Deployed Artifacts", "PortForward": "Port forward URLs"}[task]
	}
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_TaskEvent{TaskEvent: te}})
}

func v2Build(taskID, image, step, status string, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_BuildSubtaskEvent{BuildSubtaskEvent: &skaffoldv2.BuildSubtaskEvent{
		Id: image, TaskId: taskID, Artifact: image, Step: step, Status: status, ActionableErr: ae, HostPlatform: hostPlatform}}})
}

func v2Log(taskID, subtask, message string) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_SkaffoldLogEvent{SkaffoldLogEvent: &skaffoldv2.SkaffoldLogEvent{
		TaskId: taskID, SubtaskId: subtask, Level: enums.LogLevel_STANDARD, Message: message}}})
}

func v2Meta(command string) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_MetaEvent{MetaEvent: &skaffoldv2.MetaEvent{
		Entry: "Starting hoist: {Version:v0.1.0 Command:" + command + " WorkingDir:/src/app}", Metadata: &skaffoldv2.Metadata{
			Build: &skaffoldv2.BuildMetadata{Type: enums.BuildType_LOCAL, Artifacts: []*skaffoldv2.BuildMetadata_Artifact{
				{Type: enums.BuilderType_DOCKER, Name: "app", Context: ".", Dockerfile: "Dockerfile"}}},
			Deploy: &skaffoldv2.DeployMetadata{Cluster: enums.ClusterType_OTHER, Deployers: []*skaffoldv2.DeployMetadata_Deployer{
				{Type: enums.DeployerType_KUBECTL, Count: 1}}},
			Render: &skaffoldv2.RenderMetadata{},
			RunID:  runID,
		}}}})
}

func v2Test(taskID, id, status string, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_TestEvent{TestEvent: &skaffoldv2.TestSubtaskEvent{
		Id: id, TaskId: taskID, Status: status, ActionableErr: ae}}})
}

func v2Render(taskID, status string) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_RenderEvent{RenderEvent: &skaffoldv2.RenderSubtaskEvent{
		Id: "0", TaskId: taskID, Status: status}}})
}

func v2Deploy(taskID, id, status string, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_DeploySubtaskEvent{DeploySubtaskEvent: &skaffoldv2.DeploySubtaskEvent{
		Id: id, TaskId: taskID, Status: status, ActionableErr: ae}}})
}

func v2Check(taskID, resource, status, message string, code enums.StatusCode, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_StatusCheckSubtaskEvent{StatusCheckSubtaskEvent: &skaffoldv2.StatusCheckSubtaskEvent{
		Id: resource, TaskId: taskID, Resource: resource, Status: status, Message: message, StatusCode: code, ActionableErr: ae}}})
}

func v2Port(taskID string, localPort int32, pod string) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_PortEvent{PortEvent: &skaffoldv2.PortForwardEvent{
		TaskId: taskID, LocalPort: localPort, PodName: pod, ContainerName: "web", Namespace: "default",
		ResourceType: "service", ResourceName: "getting-started", Address: "127.0.0.1", TargetPort: &skaffoldv2.IntOrString{IntVal: 8080}}}})
}

func v2Sync(taskID string, count int32, status string, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_FileSyncEvent{FileSyncEvent: &skaffoldv2.FileSyncEvent{
		Id: "app", TaskId: taskID, FileCount: count, Image: appRef, Status: status, ActionableErr: ae}}})
}

func v2Term(status string, ae *skaffoldv2.ActionableErr) *skaffoldv2.Event {
	return v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_TerminationEvent{TerminationEvent: &skaffoldv2.TerminationEvent{
		Status: status, Err: ae}}})
}

func v2Err(code enums.StatusCode, message string, suggestions ...*skaffoldv2.Suggestion) *skaffoldv2.ActionableErr {
	return &skaffoldv2.ActionableErr{ErrCode: code, Message: message, Suggestions: suggestions}
}

// Where a run stands before the event a case translates.
var (
	devStarted = []*pb.Event{metaEv("dev", "kubectl", "app"), devLoopEv(1, pb.Status_IN_PROGRESS, nil)}
	building   = append(slices.Clone(devStarted), buildEv("app", pb.Status_IN_PROGRESS, nil))
	built      = append(slices.Clone(building), buildLineEv("app", "Step 1/3 : FROM busybox", true), builtEv())
	deploying  = append(slices.Clone(built), deployEv("kubectl", pb.Status_IN_PROGRESS, nil))
	deployed   = append(slices.Clone(deploying), appliedEv("kubectl", "Deployment", "default", "app", "created"),
		deployEv("kubectl", pb.Status_SUCCEEDED, nil))
	checking  = append(slices.Clone(deployed), checkEv("", pb.Status_IN_PROGRESS, "waiting up to 10m0s for 1 resources to be ready", nil))
	iterated  = append(slices.Clone(checking), checkEv("Deployment/default/app", pb.Status_SUCCEEDED, "ready", nil), checkEv("", pb.Status_SUCCEEDED, "1 resources ready", nil), devLoopEv(1, pb.Status_SUCCEEDED, nil))
	iterating = append(slices.Clone(iterated), devLoopEv(2, pb.Status_IN_PROGRESS, nil))
)

// translateV2 translates before, then event, and returns what event
// translates into.
func translateV2(t *testing.T, o Options, before []*pb.Event, ev *pb.Event) []*skaffoldv2.Event {
	t.Helper()
	tr := NewV2(o)
	envs := envelopes(append(slices.Clone(before), ev)...)
	var got []*skaffoldv2.Event
	for _, env := range envs {
		got = tr.Translate(env)
	}
	return got
}

// v2Cases translate each kind of hoist event, named by its payload type.
var v2Cases = []struct {
	name   string
	before []*pb.Event
	event  *pb.Event
	want   []*skaffoldv2.Event
}{
	{name: "metaEvent", event: metaEv("dev", "kubectl", "app"), want: []*skaffoldv2.Event{v2Meta("dev")}},

	{name: "devLoopEvent/started", before: devStarted[:1], event: devLoopEv(1, pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Task("DevLoop-1", "DevLoop", 1, v2InProgress, nil), v2Meta("dev")}},
	{name: "devLoopEvent/succeeded", before: checking,
		event: devLoopEv(1, pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv2.Event{v2Task("StatusCheck-1", "StatusCheck", 1, v2Succeeded, nil), v2Deploy("Deploy-1", "0", v2Succeeded, nil),
			v2Task("Deploy-1", "Deploy", 1, v2Succeeded, nil), v2Task("DevLoop-1", "DevLoop", 1, v2Succeeded, nil)}},
	{name: "devLoopEvent/succeeded without a status check", before: deployed,
		event: devLoopEv(1, pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv2.Event{v2Deploy("Deploy-1", "0", v2Succeeded, nil),
			v2Task("Deploy-1", "Deploy", 1, v2Succeeded, nil), v2Task("DevLoop-1", "DevLoop", 1, v2Succeeded, nil)}},
	{name: "devLoopEvent/build failed", before: append(slices.Clone(building), buildEv("app", pb.Status_FAILED, daemonErr)),
		event: devLoopEv(1, pb.Status_FAILED, nil),
		want: []*skaffoldv2.Event{
			v2Task("Build-1", "Build", 1, v2Failed, v2Err(enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING, daemonErr.Message,
				&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_DOCKER_RUNNING, Action: "start dockerd, or set DOCKER_HOST"})),
			v2Task("DevLoop-1", "DevLoop", 1, v2Failed, v2Err(enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING, daemonErr.Message,
				&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_DOCKER_RUNNING, Action: "start dockerd, or set DOCKER_HOST"}))}},
	{name: "devLoopEvent/config invalid", before: append(slices.Clone(iterated), devLoopEv(2, pb.Status_IN_PROGRESS, nil)),
		event: devLoopEv(2, pb.Status_FAILED, configErr),
		want:  []*skaffoldv2.Event{v2Task("DevLoop-2", "DevLoop", 2, v2Failed, v2Err(enums.StatusCode_CONFIG_FILE_PARSING_ERR, configErr.Message))}},
	{name: "devLoopEvent/unclassified", before: append(slices.Clone(iterated), devLoopEv(2, pb.Status_IN_PROGRESS, nil)),
		event: devLoopEv(2, pb.Status_FAILED, unknownErr),
		want: []*skaffoldv2.Event{v2Task("DevLoop-2", "DevLoop", 2, v2Failed, v2Err(enums.StatusCode_UNKNOWN_ERROR, unknownErr.Message,
			&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_OPEN_ISSUE, Action: "run again with -v debug and report the output as a bug"}))}},

	{name: "buildEvent/started", before: devStarted, event: buildEv("app", pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Task("Build-1", "Build", 1, v2InProgress, nil), v2Build("Build-1", "app", stepCache, v2InProgress, nil)}},
	{name: "buildEvent/started in run", before: []*pb.Event{metaEv("run", "kubectl", "app")}, event: buildEv("app", pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Task("Build-0", "Build", 0, v2InProgress, nil), v2Build("Build-0", "app", stepCache, v2InProgress, nil)}},
	{name: "buildEvent/line before the cache is decided", before: building, event: buildLineEv("app", "warning: not a git repository", false),
		want: []*skaffoldv2.Event{v2Log("Build-1", "app", "warning: not a git repository\n")}},
	{name: "buildEvent/first step", before: building, event: buildLineEv("app", "Step 1/3 : FROM busybox", true),
		want: []*skaffoldv2.Event{v2Build("Build-1", "app", stepCache, v2Failed, nil), v2Build("Build-1", "app", stepBuild, v2InProgress, nil),
			v2Log("Build-1", "app", "Step 1/3 : FROM busybox\n")}},
	{name: "buildEvent/line", before: append(slices.Clone(building), buildLineEv("app", "Step 1/3 : FROM busybox", true)),
		event: buildLineEv("app", " ---> 4a2b", false), want: []*skaffoldv2.Event{v2Log("Build-1", "app", " ---> 4a2b\n")}},
	{name: "buildEvent/succeeded", before: built[:len(built)-1], event: buildEv("app", pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv2.Event{v2Build("Build-1", "app", stepBuild, v2Succeeded, nil)}},
	{name: "buildEvent/succeeded without output", before: building, event: buildEv("app", pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv2.Event{v2Build("Build-1", "app", stepCache, v2Failed, nil), v2Build("Build-1", "app", stepBuild, v2InProgress, nil),
			v2Build("Build-1", "app", stepBuild, v2Succeeded, nil)}},
	{name: "buildEvent/skipped is a cache hit", before: building, event: buildEv("app", pb.Status_SKIPPED, nil),
		want: []*skaffoldv2.Event{v2Build("Build-1", "app", stepCache, v2Succeeded, nil)}},
	{name: "buildEvent/failed", before: building, event: buildEv("app", pb.Status_FAILED, daemonErr),
		want: []*skaffoldv2.Event{v2Build("Build-1", "app", stepCache, v2Failed, nil), v2Build("Build-1", "app", stepBuild, v2InProgress, nil),
			v2Build("Build-1", "app", stepBuild, v2Failed, v2Err(enums.StatusCode_BUILD_DOCKER_DAEMON_NOT_RUNNING, daemonErr.Message,
				&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_DOCKER_RUNNING, Action: "start dockerd, or set DOCKER_HOST"}))}},
	{name: "buildEvent/canceled before it started", before: append(slices.Clone(building), buildEv("app", pb.Status_FAILED, daemonErr)),
		event: buildEv("web", pb.Status_CANCELED, canceledErr),
		want:  []*skaffoldv2.Event{v2Build("Build-1", "web", stepBuild, v2Canceled, v2Err(enums.StatusCode_BUILD_CANCELLED, canceledErr.Message))}},

	{name: "testEvent/started", before: built, event: testEv("app", pb.Status_IN_PROGRESS, "", nil),
		want: []*skaffoldv2.Event{v2Task("Build-1", "Build", 1, v2Succeeded, nil), v2Task("Test-1", "Test", 1, v2InProgress, nil),
			v2Test("Test-1", "0", v2InProgress, nil)}},
	{name: "testEvent/line", before: append(slices.Clone(built), testEv("app", pb.Status_IN_PROGRESS, "", nil)),
		event: testEv("app", pb.Status_IN_PROGRESS, "ok  \tapp\t0.01s", nil), want: []*skaffoldv2.Event{v2Log("Test-1", "0", "ok  \tapp\t0.01s\n")}},
	{name: "testEvent/failed", before: append(slices.Clone(built), testEv("app", pb.Status_IN_PROGRESS, "", nil)),
		event: testEv("app", pb.Status_FAILED, "", testErr),
		want: []*skaffoldv2.Event{v2Test("Test-1", "0", v2Failed, v2Err(enums.StatusCode_TEST_CUSTOM_CMD_RUN_NON_ZERO_EXIT_ERR, testErr.Message,
			&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CUSTOM_COMMAND, Action: "run the command by hand in the test's context with IMAGE set to the image"}))}},

	{name: "renderEvent/started", before: []*pb.Event{metaEv("render", "kubectl", "app")}, event: renderEv(pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Task("Render-0", "Render", 0, v2InProgress, nil), v2Render("Render-0", v2InProgress)}},
	{name: "renderEvent/succeeded", before: []*pb.Event{metaEv("render", "kubectl", "app"), renderEv(pb.Status_IN_PROGRESS, nil)},
		event: renderEv(pb.Status_SUCCEEDED, nil),
		want:  []*skaffoldv2.Event{v2Render("Render-0", v2Succeeded), v2Task("Render-0", "Render", 0, v2Succeeded, nil)}},

	{name: "deployEvent/started", before: built, event: deployEv("kubectl", pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Task("Build-1", "Build", 1, v2Succeeded, nil),
			v2Task("Render-1", "Render", 1, v2InProgress, nil), v2Render("Render-1", v2InProgress), v2Render("Render-1", v2Succeeded),
			v2Task("Render-1", "Render", 1, v2Succeeded, nil),
			v2Task("Deploy-1", "Deploy", 1, v2InProgress, nil), v2Deploy("Deploy-1", "0", v2InProgress, nil)}},
	{name: "deployEvent/applied", before: deploying, event: appliedEv("kubectl", "Deployment", "default", "app", "created"),
		want: []*skaffoldv2.Event{v2Log("Deploy-1", "0", "deployment/app created\n")}},
	// Skaffold checks a deployer's resources before it reports its end.
	{name: "deployEvent/succeeded", before: deployed[:len(deployed)-1], event: deployEv("kubectl", pb.Status_SUCCEEDED, nil), want: nil},
	{name: "deployEvent/second deployer", before: deployed, event: deployEv("helm", pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Deploy("Deploy-1", "0", v2Succeeded, nil), v2Deploy("Deploy-1", "1", v2InProgress, nil)}},
	{name: "deployEvent/failed", before: deploying, event: deployEv("kubectl", pb.Status_FAILED, applyErr),
		want: []*skaffoldv2.Event{v2Deploy("Deploy-1", "0", v2Failed, v2Err(enums.StatusCode_DEPLOY_KUBECTL_USER_ERR, applyErr.Message)),
			v2Task("Deploy-1", "Deploy", 1, v2Failed, v2Err(enums.StatusCode_DEPLOY_KUBECTL_USER_ERR, applyErr.Message))}},
	{name: "deployEvent/cleanup of dev", before: iterated, event: appliedEv("kubectl", "Deployment", "default", "app", "deleted"),
		want: []*skaffoldv2.Event{v2Log("Cleanup-1", "-1", "deployment/app deleted\n")}},

	{name: "statusCheckEvent/started", before: deployed, event: checkEv("", pb.Status_IN_PROGRESS, "waiting up to 10m0s for 1 resources to be ready", nil),
		want: []*skaffoldv2.Event{v2Task("StatusCheck-1", "StatusCheck", 1, v2InProgress, nil),
			v2Log("Deploy-1", "0", "waiting up to 10m0s for 1 resources to be ready\n")}},
	{name: "statusCheckEvent/resource pending", before: checking, event: checkEv("Deployment/default/app", pb.Status_IN_PROGRESS, "0/1 replicas ready", nil),
		want: []*skaffoldv2.Event{v2Check("Deploy-1", "deployment/app", v2InProgress, "0/1 replicas ready", enums.StatusCode_STATUSCHECK_DEPLOYMENT_ROLLOUT_PENDING,
			v2Err(enums.StatusCode_STATUSCHECK_DEPLOYMENT_ROLLOUT_PENDING, "0/1 replicas ready")),
			v2Log("Deploy-1", "deployment/app", " - deployment/app: 0/1 replicas ready\n")}},
	{name: "statusCheckEvent/resource ready in a namespace", before: checking, event: checkEv("StatefulSet/prod/db", pb.Status_SUCCEEDED, "ready", nil),
		want: []*skaffoldv2.Event{v2Check("Deploy-1", "prod:statefulset/db", v2Succeeded, "Succeeded", enums.StatusCode_STATUSCHECK_SUCCESS, nil),
			v2Log("Deploy-1", "prod:statefulset/db", " - prod:statefulset/db is ready.\n")}},
	{name: "statusCheckEvent/resource failed", before: checking, event: checkEv("Deployment/default/app", pb.Status_FAILED, "", pullErr),
		want: []*skaffoldv2.Event{v2Check("Deploy-1", "deployment/app", v2Failed, "", enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR,
			v2Err(enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR, pullErr.Message, &skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CONTAINER_IMAGE,
				Action: "check the image reference, and that the cluster can reach and log in to its registry"})),
			v2Log("Deploy-1", "deployment/app", " - deployment/app failed. Error: ImagePullBackOff.\n")}},
	{name: "statusCheckEvent/succeeded", before: checking, event: checkEv("", pb.Status_SUCCEEDED, "1 resources ready", nil),
		want: []*skaffoldv2.Event{v2Task("StatusCheck-1", "StatusCheck", 1, v2Succeeded, nil), v2Deploy("Deploy-1", "0", v2Succeeded, nil),
			v2Task("Deploy-1", "Deploy", 1, v2Succeeded, nil)}},
	{name: "statusCheckEvent/failed", before: checking, event: checkEv("", pb.Status_FAILED, "status check failed", pullErr),
		want: []*skaffoldv2.Event{
			v2Task("StatusCheck-1", "StatusCheck", 1, v2Failed, v2Err(enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR, pullErr.Message,
				&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CONTAINER_IMAGE, Action: "check the image reference, and that the cluster can reach and log in to its registry"})),
			v2Deploy("Deploy-1", "0", v2Failed, v2Err(enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR, pullErr.Message,
				&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CONTAINER_IMAGE, Action: "check the image reference, and that the cluster can reach and log in to its registry"})),
			v2Task("Deploy-1", "Deploy", 1, v2Failed, v2Err(enums.StatusCode_STATUSCHECK_IMAGE_PULL_ERR, pullErr.Message,
				&skaffoldv2.Suggestion{SuggestionCode: enums.SuggestionCode_CHECK_CONTAINER_IMAGE, Action: "check the image reference, and that the cluster can reach and log in to its registry"}))}},
	{name: "statusCheckEvent/canceled", before: checking, event: checkEv("", pb.Status_CANCELED, "", &pb.Error{Code: "CANCELED", Message: "status check canceled"}),
		want: []*skaffoldv2.Event{
			v2Task("StatusCheck-1", "StatusCheck", 1, v2Failed, v2Err(enums.StatusCode_STATUSCHECK_USER_CANCELLED, "status check canceled")),
			v2Deploy("Deploy-1", "0", v2Failed, v2Err(enums.StatusCode_STATUSCHECK_USER_CANCELLED, "status check canceled")),
			v2Task("Deploy-1", "Deploy", 1, v2Failed, v2Err(enums.StatusCode_STATUSCHECK_USER_CANCELLED, "status check canceled"))}},

	{name: "portEvent", before: iterated, event: portEv(9000, "app-1"),
		want: []*skaffoldv2.Event{v2Task("PortForward-1", "PortForward", 1, v2InProgress, nil),
			v2Log("PortForward-1", "service/getting-started", "Port forwarding service/getting-started in namespace default, remote port 8080 -> http://127.0.0.1:9000\n"),
			v2Port("PortForward-1", 9000, "app-1"), v2Task("PortForward-1", "PortForward", 1, v2Succeeded, nil)}},

	{name: "portEvent/during a deploy", before: checking, event: portEv(9000, "app-2"), want: nil},
	{name: "portEvent/held until the deploy ends", before: append(slices.Clone(checking), portEv(9000, "app-2")),
		event: checkEv("", pb.Status_SUCCEEDED, "1 resources ready", nil),
		want: []*skaffoldv2.Event{v2Task("StatusCheck-1", "StatusCheck", 1, v2Succeeded, nil), v2Deploy("Deploy-1", "0", v2Succeeded, nil),
			v2Task("Deploy-1", "Deploy", 1, v2Succeeded, nil), v2Task("PortForward-1", "PortForward", 1, v2InProgress, nil),
			v2Log("PortForward-1", "service/getting-started", "Port forwarding service/getting-started in namespace default, remote port 8080 -> http://127.0.0.1:9000\n"),
			v2Port("PortForward-1", 9000, "app-2"), v2Task("PortForward-1", "PortForward", 1, v2Succeeded, nil)}},

	{name: "applicationLogEvent", before: iterated, event: appLogEv("listening on :8080"),
		want: []*skaffoldv2.Event{v2At(&skaffoldv2.Event{EventType: &skaffoldv2.Event_ApplicationLogEvent{ApplicationLogEvent: &skaffoldv2.ApplicationLogEvent{
			ContainerName: "web", PodName: "getting-started-7d9f8b6c5-x2k4p", Prefix: "[getting-started-7d9f8b6c5-x2k4p web]",
			Message: "listening on :8080\n", RichFormattedMessage: "[getting-started-7d9f8b6c5-x2k4p web] listening on :8080\n"}}})}},

	{name: "fileSyncEvent/started", before: iterating, event: syncEv("app", 2, pb.Status_IN_PROGRESS, nil),
		want: []*skaffoldv2.Event{v2Log("DevLoop-2", "-1", "Syncing 2 files for "+appRef+"\n"), v2Sync("DevLoop-2", 2, v2InProgress, nil)}},
	{name: "fileSyncEvent/succeeded", before: append(slices.Clone(iterating), syncEv("app", 2, pb.Status_IN_PROGRESS, nil)),
		event: syncEv("app", 2, pb.Status_SUCCEEDED, nil), want: []*skaffoldv2.Event{v2Sync("DevLoop-2", 2, v2Succeeded, nil)}},
	{name: "fileSyncEvent/failed", before: append(slices.Clone(iterating), syncEv("app", 1, pb.Status_IN_PROGRESS, nil)),
		event: syncEv("app", 1, pb.Status_FAILED, syncErr),
		want:  []*skaffoldv2.Event{v2Sync("DevLoop-2", 1, v2Failed, v2Err(enums.StatusCode_SYNC_UNKNOWN, syncErr.Message))}},

	{name: "terminationEvent/succeeded", before: iterated, event: terminationEv(pb.Status_SUCCEEDED, nil),
		want: []*skaffoldv2.Event{v2Term(v2Completed, nil)}},
	{name: "terminationEvent/canceled during a build", before: building, event: terminationEv(pb.Status_CANCELED, &pb.Error{Code: "CANCELED", Message: "interrupted"}),
		want: []*skaffoldv2.Event{v2Task("Build-1", "Build", 1, v2Failed, v2Err(enums.StatusCode_BUILD_CANCELLED, "interrupted")),
			v2Term(v2Canceled, v2Err(enums.StatusCode_STATUSCHECK_USER_CANCELLED, "interrupted"))}},
	{name: "terminationEvent/failed", before: []*pb.Event{metaEv("run", "", "")}, event: terminationEv(pb.Status_FAILED, configErr),
		want: []*skaffoldv2.Event{v2Term(v2Failed, v2Err(enums.StatusCode_CONFIG_FILE_PARSING_ERR, configErr.Message))}},
}

func TestV2Translate(t *testing.T) {
	for _, tt := range v2Cases {
		t.Run(tt.name, func(t *testing.T) {
			got := translateV2(t, options, tt.before, tt.event)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Translate (-want +got):\n%s", diff)
			}
		})
	}
}

// TestV2CasesCoverEveryPayload fails when a payload of hoist's events has
// no case: each must be translated, and tested.
func TestV2CasesCoverEveryPayload(t *testing.T) {
	covered := map[string]bool{}
	for _, tt := range v2Cases {
		covered[event.TypeOf(tt.event)] = true
	}
	for _, p := range event.PayloadTypes {
		if !covered[p] {
			t.Errorf("no case translates a %s", p)
		}
	}
}
