package skaffoldapi

import (
	"fmt"
	"runtime"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
)

// Skaffold's v2 status strings (pkg/skaffold/event/v2).
const (
	v2NotStarted = "NotStarted"
	v2InProgress = "InProgress"
	v2Succeeded  = "Succeeded"
	v2Failed     = "Failed"
	v2Canceled   = "Canceled"
	v2Completed  = "Completed"

	stepCache = "Cache"
	stepBuild = "Build"
)

// hostPlatform is the platform hoist builds for: the host's.
var hostPlatform = runtime.GOOS + "/" + runtime.GOARCH

// V2 translates one run's events into Skaffold's v2 events
// (proto.v2.SkaffoldV2Service) and folds them into its State. It is not
// safe for concurrent use.
type V2 struct {
	opts Options
	r    reader
	out  []*skaffoldv2.Event
	env  *pb.Envelope
	// ids are the task ids of the current iteration, by phase.
	ids   [phaseCount]string
	iter  uint32
	meta  *skaffoldv2.Metadata
	entry string
	state *skaffoldv2.State
}

// NewV2 returns a translator of a run that has not started.
func NewV2(o Options) *V2 {
	t := &V2{opts: o}
	t.r = newReader(t)
	t.setIteration(0)
	t.meta = &skaffoldv2.Metadata{Build: &skaffoldv2.BuildMetadata{}, Deploy: &skaffoldv2.DeployMetadata{}, Render: &skaffoldv2.RenderMetadata{}}
	t.state = t.emptyState()
	return t
}

// Translate returns the v2 events Skaffold sends at env, the next event of
// the run: none, one or several. Application logs are among them, as
// applicationLogEvents; Skaffold serves them on ApplicationLogs only.
func (t *V2) Translate(env *pb.Envelope) []*skaffoldv2.Event {
	t.out, t.env = nil, env
	t.r.read(env)
	out := t.out
	t.out, t.env = nil, nil
	return out
}

func (t *V2) setIteration(n uint32) {
	t.iter = n
	for p, name := range taskNames {
		if name != "" {
			t.ids[p] = name + "-" + strconv.FormatUint(uint64(n), 10)
		}
	}
}

// timestamp is the time of the event being translated.
func (t *V2) timestamp() *timestamppb.Timestamp {
	ts := t.env.GetEvent().GetTimestamp()
	return &timestamppb.Timestamp{Seconds: ts.GetSeconds(), Nanos: ts.GetNanos()}
}

func (t *V2) add(ev *skaffoldv2.Event) {
	ev.Timestamp = t.timestamp()
	foldV2(t.state, ev)
	t.out = append(t.out, ev)
}

// logEvent is a skaffoldLogEvent with everything it points to, made with
// one allocation: a build prints many lines.
type logEvent struct {
	ev      skaffoldv2.Event
	payload skaffoldv2.Event_SkaffoldLogEvent
	log     skaffoldv2.SkaffoldLogEvent
	ts      timestamppb.Timestamp
	out     [1]*skaffoldv2.Event
}

// addLog adds a line of output of a task's subtask.
func (t *V2) addLog(p phase, subtask, line string) {
	le := &logEvent{}
	le.log.TaskId, le.log.SubtaskId, le.log.Level, le.log.Message = t.ids[p], subtask, enums.LogLevel_STANDARD, line+"\n"
	ts := t.env.GetEvent().GetTimestamp()
	le.ts.Seconds, le.ts.Nanos = ts.GetSeconds(), ts.GetNanos()
	le.payload.SkaffoldLogEvent = &le.log
	le.ev.EventType, le.ev.Timestamp = &le.payload, &le.ts
	if t.out == nil {
		le.out[0] = &le.ev
		t.out = le.out[:1:1]
		return
	}
	t.out = append(t.out, &le.ev)
}

func (t *V2) task(p phase, status string, ae *skaffoldv2.ActionableErr) {
	te := &skaffoldv2.TaskEvent{Id: t.ids[p], Task: taskNames[p], Iteration: int32(t.iter), Status: status, ActionableErr: ae}
	if status == v2InProgress {
		te.Description = taskDescriptions[p]
	}
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_TaskEvent{TaskEvent: te}})
}

func (t *V2) buildSubtask(image, stepName, status string, ae *skaffoldv2.ActionableErr) {
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_BuildSubtaskEvent{BuildSubtaskEvent: &skaffoldv2.BuildSubtaskEvent{
		Id: image, TaskId: t.ids[phaseBuild], Artifact: image, Step: stepName, Status: status, ActionableErr: ae, HostPlatform: hostPlatform}}})
}

// v2Status is Skaffold's v2 status string of a subtask's status.
func v2Status(s pb.Status) string {
	switch s {
	case pb.Status_IN_PROGRESS:
		return v2InProgress
	case pb.Status_SUCCEEDED, pb.Status_SKIPPED:
		return v2Succeeded
	case pb.Status_CANCELED:
		return v2Canceled
	default:
		return v2Failed
	}
}

// v2SubtaskStatus is the v2 status of a test, render or deploy
// subtask: Skaffold reports their cancellation as a failure.
func v2SubtaskStatus(s pb.Status) string {
	if s == pb.Status_CANCELED {
		return v2Failed
	}
	return v2Status(s)
}

// v2TaskStatus is the status of a task that ended with s: Skaffold's
// tasks succeed or fail.
func v2TaskStatus(s pb.Status) string {
	if isFailure(s) {
		return v2Failed
	}
	return v2Succeeded
}

func (t *V2) step(s step) {
	switch s.kind {
	case stepLog:
		t.addLog(s.phase, s.subtask, s.line)
	case stepMeta:
		meta := s.env.GetEvent().GetMetaEvent()
		t.meta, t.entry = t.metadata(meta, s.env.GetEventId()), metaEntry(meta)
		t.state = t.emptyState()
		t.addMeta()
	case stepIterationStart:
		t.setIteration(t.r.iter)
		// Skaffold starts each iteration's state afresh (InitializeState);
		// hoist's port forwards outlive its iterations, and so do they here.
		ports := t.state.ForwardedPorts
		t.state = t.emptyState()
		t.state.ForwardedPorts = ports
		t.task(phaseDevLoop, v2InProgress, nil)
		t.addMeta()
	case stepIterationEnd:
		t.task(phaseDevLoop, v2TaskStatus(s.status), actionableV2(s.errPhase, s.status, s.err))
	case stepTaskStart:
		t.task(s.phase, v2InProgress, nil)
	case stepTaskEnd:
		t.task(s.phase, v2TaskStatus(s.status), actionableV2(s.errPhase, s.status, s.err))
	case stepCacheStart:
		t.buildSubtask(s.subtask, stepCache, v2InProgress, nil)
	case stepCacheEnd:
		t.buildSubtask(s.subtask, stepCache, v2Status(s.status), nil)
	case stepBuildStart:
		t.buildSubtask(s.subtask, stepBuild, v2InProgress, nil)
	case stepBuildEnd:
		t.buildSubtask(s.subtask, stepBuild, v2Status(s.status), actionableV2(s.errPhase, s.status, s.err))
	case stepTestStart, stepTestEnd:
		t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_TestEvent{TestEvent: &skaffoldv2.TestSubtaskEvent{
			Id: s.subtask, TaskId: t.ids[phaseTest], Status: v2SubtaskStatus(s.status), ActionableErr: actionableV2(s.errPhase, s.status, s.err)}}})
	case stepRenderStart, stepRenderEnd:
		t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_RenderEvent{RenderEvent: &skaffoldv2.RenderSubtaskEvent{
			Id: s.subtask, TaskId: t.ids[phaseRender], Status: v2SubtaskStatus(s.status), ActionableErr: actionableV2(s.errPhase, s.status, s.err)}}})
	case stepDeployStart, stepDeployEnd:
		t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_DeploySubtaskEvent{DeploySubtaskEvent: &skaffoldv2.DeploySubtaskEvent{
			Id: s.subtask, TaskId: t.ids[phaseDeploy], Status: v2SubtaskStatus(s.status), ActionableErr: actionableV2(s.errPhase, s.status, s.err)}}})
	case stepResource:
		t.resource(s)
	case stepPort:
		t.port(s.env.GetEvent().GetPortEvent())
	case stepAppLog:
		t.appLog(s.env.GetEvent().GetApplicationLogEvent())
	case stepSync:
		t.sync(s)
	case stepTermination:
		t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_TerminationEvent{TerminationEvent: &skaffoldv2.TerminationEvent{
			Status: terminationStatus(s.status), Err: actionableV2(s.errPhase, s.status, s.err)}}})
	case stepDeployDone:
		// v2 reports the deploy's end after its status check.
	}
}

func (t *V2) addMeta() {
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_MetaEvent{MetaEvent: &skaffoldv2.MetaEvent{
		Entry: t.entry, Metadata: proto.CloneOf(t.meta)}}})
}

// resource reports a watched resource's progress, and the line Skaffold
// prints for it.
func (t *V2) resource(s step) {
	e := &skaffoldv2.StatusCheckSubtaskEvent{Id: s.subtask, TaskId: t.ids[phaseDeploy], Resource: s.subtask, Status: v2Status(s.status)}
	var line string
	switch s.status {
	case pb.Status_SUCCEEDED:
		e.Message, e.StatusCode = v2Succeeded, enums.StatusCode_STATUSCHECK_SUCCESS
		line = fmt.Sprintf(" - %s is ready.", s.subtask)
	case pb.Status_IN_PROGRESS:
		e.Message = s.line
		e.StatusCode = pendingCode(s.resourceKind, s.err)
		e.ActionableErr = &skaffoldv2.ActionableErr{ErrCode: e.StatusCode, Message: s.line}
		line = fmt.Sprintf(" - %s: %s", s.subtask, s.line)
	default:
		e.ActionableErr = actionableV2(s.errPhase, s.status, s.err)
		e.StatusCode = e.ActionableErr.ErrCode
		line = fmt.Sprintf(" - %s failed. Error: %s.", s.subtask, s.err.GetMessage())
	}
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_StatusCheckSubtaskEvent{StatusCheckSubtaskEvent: e}})
	t.addLog(phaseDeploy, s.subtask, line)
}

// port reports a port forward as Skaffold's PortForward task does: the
// task, the line it prints, the forward, the task's end. hoist's forwards
// outlive deploys: each time one moves to another pod, it is reported
// again.
func (t *V2) port(pe *pb.PortEvent) {
	t.task(phasePortForward, v2InProgress, nil)
	res := pe.ResourceType + "/" + pe.ResourceName
	t.addLog(phasePortForward, res, fmt.Sprintf("Port forwarding %s in namespace %s, remote port %d -> http://%s:%d",
		res, pe.Namespace, pe.RemotePort, pe.Address, pe.LocalPort))
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_PortEvent{PortEvent: &skaffoldv2.PortForwardEvent{
		TaskId: t.ids[phasePortForward], LocalPort: int32(pe.LocalPort), PodName: pe.Pod, ContainerName: pe.Container,
		Namespace: pe.Namespace, ResourceType: pe.ResourceType, ResourceName: pe.ResourceName, Address: pe.Address,
		TargetPort: &skaffoldv2.IntOrString{IntVal: int32(pe.RemotePort)}}}})
	t.task(phasePortForward, v2Succeeded, nil)
}

// appLog reports a line of a deployed container, prefixed as Skaffold
// prefixes it by default: [pod container].
func (t *V2) appLog(a *pb.ApplicationLogEvent) {
	prefix := "[" + a.Pod + " " + a.Container + "]"
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_ApplicationLogEvent{ApplicationLogEvent: &skaffoldv2.ApplicationLogEvent{
		ContainerName: a.Container, PodName: a.Pod, Prefix: prefix, Message: a.Message + "\n",
		RichFormattedMessage: prefix + " " + a.Message + "\n"}}})
}

// sync reports a file sync of the image last built of an artifact.
// Skaffold's v2 stream declares fileSyncEvent but does not send it; hoist
// does, in the iteration's DevLoop task.
func (t *V2) sync(s step) {
	e := s.env.GetEvent().GetFileSyncEvent()
	if s.status == pb.Status_IN_PROGRESS {
		t.addLog(phaseDevLoop, noSubtask, fmt.Sprintf("Syncing %d files for %s", e.FileCount, s.line))
	}
	t.add(&skaffoldv2.Event{EventType: &skaffoldv2.Event_FileSyncEvent{FileSyncEvent: &skaffoldv2.FileSyncEvent{
		Id: e.Image, TaskId: t.ids[phaseDevLoop], FileCount: int32(e.FileCount), Image: s.line, Status: v2SubtaskStatus(s.status),
		ActionableErr: actionableV2(s.errPhase, s.status, s.err)}}})
}

// terminationStatus is the status of the run's end: Completed, Failed or
// Canceled.
func terminationStatus(s pb.Status) string {
	switch s {
	case pb.Status_SUCCEEDED:
		return v2Completed
	case pb.Status_CANCELED:
		return v2Canceled
	default:
		return v2Failed
	}
}

// pendingCode is the StatusCode of a resource that is not ready yet:
// its error's, or Skaffold's code of a pending rollout.
func pendingCode(kind string, err *pb.Error) enums.StatusCode {
	if err != nil {
		return statusCode(phaseStatusCheck, pb.Status_IN_PROGRESS, err)
	}
	if kind == "pod" {
		return enums.StatusCode_STATUSCHECK_STANDALONE_PODS_PENDING
	}
	return enums.StatusCode_STATUSCHECK_DEPLOYMENT_ROLLOUT_PENDING
}
