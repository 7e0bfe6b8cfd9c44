package skaffoldapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
)

// The hoist events the tests translate, and the envelopes around them.

const runID = "0192f6a4-7c1e-7d2a-9b3c-4d5e6f708192"

var when = time.Date(2023, 10, 27, 10, 0, 0, 123e6, time.UTC)

// envelopes wraps events as one run's envelopes, from sequence 1, all at
// the time when.
func envelopes(events ...*pb.Event) []*pb.Envelope {
	out := make([]*pb.Envelope, len(events))
	for i, ev := range events {
		ev.Sequence = uint32(i + 1)
		ev.Timestamp = timestamppb.New(when)
		out[i] = &pb.Envelope{ApiVersion: "skaffold.dev/v1alpha2", Kind: "Event", EventId: runID, Event: ev}
	}
	return out
}

func metaEv(command, deployer string, artifacts ...string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{
		Command: command, Version: "v0.1.0", WorkingDir: "/src/app", Artifacts: artifacts, Deployer: deployer}}}
}

func devLoopEv(iteration uint32, status pb.Status, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_DevLoopEvent{DevLoopEvent: &pb.DevLoopEvent{Iteration: iteration, Status: status, Error: err}}}
}

func buildEv(image string, status pb.Status, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: image, Status: status, Error: err}}}
}

// builtEv is app's successful build, of appRef.
func builtEv() *pb.Event {
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_SUCCEEDED,
		Artifact: &pb.Artifact{ImageName: "app", Tag: appRef, Digest: "sha256:abab"}}}}
}

const appRef = "127.0.0.1:5000/app:v1"

func buildLineEv(image, line string, withStep bool) *pb.Event {
	e := &pb.BuildEvent{Image: image, Status: pb.Status_IN_PROGRESS, Log: line}
	if withStep {
		e.Step = &pb.Step{Index: 1, Total: 3, Instruction: "FROM busybox"}
	}
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: e}}
}

func testEv(image string, status pb.Status, line string, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_TestEvent{TestEvent: &pb.TestEvent{Image: image, Status: status, Log: line, Error: err}}}
}

func renderEv(status pb.Status, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_RenderEvent{RenderEvent: &pb.RenderEvent{Status: status, Error: err}}}
}

func deployEv(deployer string, status pb.Status, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Deployer: deployer, Status: status, Error: err}}}
}

func appliedEv(deployer, kind, namespace, name, action string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Deployer: deployer, Status: pb.Status_IN_PROGRESS,
		Resources: []*pb.Resource{{Kind: kind, Namespace: namespace, Name: name, Action: action}}}}}
}

func checkEv(resource string, status pb.Status, message string, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: &pb.StatusCheckEvent{
		Resource: resource, Status: status, Message: message, Error: err}}}
}

func portEv(localPort uint32, pod string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_PortEvent{PortEvent: &pb.PortEvent{LocalPort: localPort, RemotePort: 8080, Pod: pod,
		Container: "web", Namespace: "default", ResourceType: "service", ResourceName: "getting-started", Address: "127.0.0.1"}}}
}

func appLogEv(message string) *pb.Event {
	return &pb.Event{Payload: &pb.Event_ApplicationLogEvent{ApplicationLogEvent: &pb.ApplicationLogEvent{
		Pod: "getting-started-7d9f8b6c5-x2k4p", Container: "web", Namespace: "default", Message: message}}}
}

func syncEv(image string, count uint32, status pb.Status, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_FileSyncEvent{FileSyncEvent: &pb.FileSyncEvent{Image: image, FileCount: count, Status: status, Error: err}}}
}

func terminationEv(status pb.Status, err *pb.Error) *pb.Event {
	return &pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: status, Error: err}}}
}

// Errors of the catalog, as hoist reports them.
var (
	daemonErr = &pb.Error{Code: "BUILD_DOCKER_DAEMON_UNREACHABLE", Message: "cannot reach the Docker daemon",
		Suggestions: []string{"start dockerd, or set DOCKER_HOST"}}
	canceledErr = &pb.Error{Code: "CANCELED", Message: `canceled because the build of "app" failed`}
	testErr     = &pb.Error{Code: "TEST_FAILED", Message: `test command "go test" exited with status 1`}
	applyErr    = &pb.Error{Code: "DEPLOY_APPLY_FAILED", Message: "the API server refused Deployment/app"}
	pullErr     = &pb.Error{Code: "STATUS_CHECK_IMAGE_PULL_ERR", Message: "ImagePullBackOff"}
	configErr   = &pb.Error{Code: "CONFIG_INVALID", Message: `skaffold.yaml:3:1: unknown field "biuld"`}
	syncErr     = &pb.Error{Code: "SYNC_FAILED", Message: "tar: not found"}
	unknownErr  = &pb.Error{Code: "UNKNOWN", Message: "something broke"}
)

// options describe a config of one Docker artifact, app, deployed with
// kubectl to a kind cluster.
var options = Options{
	Artifacts:   []Artifact{{Image: "app", Builder: enums.BuilderType_DOCKER, Context: ".", Dockerfile: "Dockerfile"}},
	KubeContext: "kind-hoist",
}
