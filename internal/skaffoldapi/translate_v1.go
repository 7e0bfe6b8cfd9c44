package skaffoldapi

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
)

// Skaffold's v1 status strings (pkg/skaffold/event).
const (
	v1NotStarted = "Not Started"
	v1InProgress = "In Progress"
	v1Complete   = "Complete"
	v1Failed     = "Failed"
	v1Started    = "Started"
	v1Succeeded  = "Succeeded"
	v1Canceled   = "Canceled"
	v1Completed  = "Completed"
)

// V1 translates one run's events into Skaffold's v1 events
// (proto.SkaffoldService) and folds them into its State. v1 has no task
// model and no output lines: a line of build output translates into
// nothing. It is not safe for concurrent use.
type V1 struct {
	opts  Options
	r     reader
	out   []*skaffoldv1.Event
	meta  *skaffoldv1.Metadata
	state *skaffoldv1.State
}

// NewV1 returns a translator of a run that has not started.
func NewV1(o Options) *V1 {
	t := &V1{opts: o}
	t.r = newReader(t)
	t.meta = &skaffoldv1.Metadata{Build: &skaffoldv1.BuildMetadata{}, Deploy: &skaffoldv1.DeployMetadata{}}
	t.state = t.emptyState(nil)
	return t
}

// Translate returns the v1 events Skaffold sends at env, the next event of
// the run: none, one or several. LogEntry wraps each for Events.
func (t *V1) Translate(env *pb.Envelope) []*skaffoldv1.Event {
	t.out = nil
	t.r.read(env)
	out := t.out
	t.out = nil
	return out
}

// LogEntry is the entry that Skaffold's v1 Events streams for ev, one of
// the events translated from env: the event with env's time and
// Skaffold's line describing it.
func LogEntry(env *pb.Envelope, ev *skaffoldv1.Event) *skaffoldv1.LogEntry {
	ts := env.GetEvent().GetTimestamp()
	return &skaffoldv1.LogEntry{Timestamp: &timestamppb.Timestamp{Seconds: ts.GetSeconds(), Nanos: ts.GetNanos()},
		Event: ev, Entry: Entry(ev)}
}

// Entry is the line Skaffold's v1 event log gives an event.
func Entry(ev *skaffoldv1.Event) string {
	switch e := ev.EventType.(type) {
	case *skaffoldv1.Event_MetaEvent:
		return e.MetaEvent.Entry
	case *skaffoldv1.Event_BuildEvent:
		switch e.BuildEvent.Status {
		case v1InProgress:
			return "Build started for artifact " + e.BuildEvent.Artifact
		case v1Complete:
			return "Build completed for artifact " + e.BuildEvent.Artifact
		case v1Failed:
			return "Build failed for artifact " + e.BuildEvent.Artifact
		}
	case *skaffoldv1.Event_TestEvent:
		return phaseEntry("Test", e.TestEvent.Status)
	case *skaffoldv1.Event_DeployEvent:
		return phaseEntry("Deploy", e.DeployEvent.Status)
	case *skaffoldv1.Event_PortEvent:
		return fmt.Sprintf("Forwarding container %s to local port %d", e.PortEvent.ContainerName, e.PortEvent.LocalPort)
	case *skaffoldv1.Event_StatusCheckEvent:
		switch e.StatusCheckEvent.Status {
		case v1Started:
			return "Status check started"
		case v1InProgress:
			return "Status check in progress"
		case v1Succeeded:
			return "Status check succeeded"
		case v1Failed:
			return "Status check failed"
		}
	case *skaffoldv1.Event_ResourceStatusCheckEvent:
		r := e.ResourceStatusCheckEvent
		switch r.Status {
		case v1InProgress:
			return fmt.Sprintf("Resource %s status updated to %s", r.Resource, r.Status)
		case v1Succeeded:
			return fmt.Sprintf("Resource %s status completed successfully", r.Resource)
		case v1Failed:
			return fmt.Sprintf("Resource %s status failed with %s", r.Resource, r.Err)
		}
	case *skaffoldv1.Event_FileSyncEvent:
		f := e.FileSyncEvent
		switch f.Status {
		case v1InProgress:
			return fmt.Sprintf("File sync started for %d files for %s", f.FileCount, f.Image)
		case v1Succeeded:
			return fmt.Sprintf("File sync succeeded for %d files for %s", f.FileCount, f.Image)
		case v1Failed:
			return fmt.Sprintf("File sync failed for %d files for %s", f.FileCount, f.Image)
		}
	case *skaffoldv1.Event_DevLoopEvent:
		switch e.DevLoopEvent.Status {
		case v1InProgress:
			return "Update initiated"
		case v1Succeeded:
			return "Update succeeded"
		case v1Failed:
			return fmt.Sprintf("Update failed with error code %v", e.DevLoopEvent.Err.GetErrCode())
		}
	}
	return ""
}

func phaseEntry(name, status string) string {
	switch status {
	case v1InProgress:
		return name + " started"
	case v1Complete:
		return name + " completed"
	case v1Failed:
		return name + " failed"
	}
	return ""
}

func (t *V1) add(ev *skaffoldv1.Event) {
	t.fold(ev)
	t.out = append(t.out, ev)
}

// v1Status is Skaffold's v1 status string of a build's, a test's or a
// deploy's status.
func v1Status(s pb.Status) string {
	switch s {
	case pb.Status_IN_PROGRESS:
		return v1InProgress
	case pb.Status_SUCCEEDED, pb.Status_SKIPPED:
		return v1Complete
	case pb.Status_CANCELED:
		return v1Canceled
	default:
		return v1Failed
	}
}

// v1Outcome is the v1 status of the end of a dev loop iteration, a status
// check, a resource or a file sync.
func v1Outcome(s pb.Status) string {
	switch s {
	case pb.Status_IN_PROGRESS:
		return v1InProgress
	case pb.Status_SUCCEEDED, pb.Status_SKIPPED:
		return v1Succeeded
	default:
		return v1Failed
	}
}

func (t *V1) step(s step) {
	switch s.kind {
	case stepMeta:
		meta := s.env.GetEvent().GetMetaEvent()
		t.meta = t.metadata(meta)
		t.state = t.emptyState(meta.GetArtifacts())
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_MetaEvent{MetaEvent: &skaffoldv1.MetaEvent{
			Entry: metaEntry(meta), Metadata: proto.CloneOf(t.meta)}}})
	case stepIterationStart:
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_DevLoopEvent{DevLoopEvent: &skaffoldv1.DevLoopEvent{
			Iteration: t.iteration(), Status: v1InProgress}}})
	case stepIterationEnd:
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_DevLoopEvent{DevLoopEvent: &skaffoldv1.DevLoopEvent{
			Iteration: t.iteration(), Status: v1Outcome(s.status), Err: actionableV1(s.errPhase, s.status, s.err)}}})
	case stepTaskStart:
		t.taskStart(s)
	case stepTaskEnd:
		t.taskEnd(s)
	case stepBuildStart:
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_BuildEvent{BuildEvent: &skaffoldv1.BuildEvent{
			Artifact: s.subtask, Status: v1InProgress, HostPlatform: hostPlatform}}})
	case stepBuildEnd:
		ae := actionableV1(s.errPhase, s.status, s.err)
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_BuildEvent{BuildEvent: &skaffoldv1.BuildEvent{
			Artifact: s.subtask, Status: v1Status(s.status), HostPlatform: hostPlatform,
			Err: ae.GetMessage(), ErrCode: ae.GetErrCode(), ActionableErr: ae}}})
	case stepTestStart, stepTestEnd:
		ae := actionableV1(s.errPhase, s.status, s.err)
		if ae != nil {
			t.state.TestState.StatusCode = ae.ErrCode
		}
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_TestEvent{TestEvent: &skaffoldv1.TestEvent{
			Status: v1Status(s.status), ActionableErr: ae}}})
	case stepDeployEnd:
		if !isFailure(s.status) {
			return
		}
		ae := actionableV1(s.errPhase, s.status, s.err)
		t.state.DeployState.StatusCode = ae.ErrCode
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_DeployEvent{DeployEvent: &skaffoldv1.DeployEvent{
			Status: v1Failed, Err: ae.Message, ErrCode: ae.ErrCode, ActionableErr: ae}}})
	case stepDeployDone:
		t.state.DeployState.StatusCode = enums.StatusCode_DEPLOY_SUCCESS
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_DeployEvent{DeployEvent: &skaffoldv1.DeployEvent{Status: v1Complete}}})
	case stepResource:
		t.resource(s)
	case stepPort:
		pe := s.env.GetEvent().GetPortEvent()
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_PortEvent{PortEvent: &skaffoldv1.PortEvent{
			LocalPort: int32(pe.LocalPort), RemotePort: int32(pe.RemotePort), PodName: pe.Pod, ContainerName: pe.Container,
			Namespace: pe.Namespace, ResourceType: pe.ResourceType, ResourceName: pe.ResourceName, Address: pe.Address,
			TargetPort: &skaffoldv1.IntOrString{IntVal: int32(pe.RemotePort)}}}})
	case stepSync:
		e := s.env.GetEvent().GetFileSyncEvent()
		ae := actionableV1(s.errPhase, s.status, s.err)
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_FileSyncEvent{FileSyncEvent: &skaffoldv1.FileSyncEvent{
			FileCount: int32(e.FileCount), Image: s.line, Status: v1Outcome(s.status),
			Err: ae.GetMessage(), ErrCode: ae.GetErrCode(), ActionableErr: ae}}})
	case stepTermination:
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_TerminationEvent{TerminationEvent: &skaffoldv1.TerminationEvent{
			Status: terminationStatus(s.status), Err: actionableV1(s.errPhase, s.status, s.err)}}})
	case stepLog, stepCacheStart, stepCacheEnd, stepRenderStart, stepRenderEnd, stepDeployStart, stepAppLog:
		// v1 has no output lines, cache checks, render or deployer
		// subtasks, nor application logs.
	}
}

// iteration is v1's number of the current dev loop iteration: Skaffold's
// v1 counts from 0 where hoist (and v2) count from 1.
func (t *V1) iteration() int32 {
	return int32(t.r.iter) - 1
}

// taskStart reports what v1 reports of a task's start, and resets the
// state as Skaffold does when a later dev loop iteration builds, tests or
// deploys.
func (t *V1) taskStart(s step) {
	later := t.r.iter > 1
	switch s.phase {
	case phaseBuild:
		if later {
			t.resetOnBuild()
		}
	case phaseTest:
		if later {
			t.state.TestState.Status = v1NotStarted
		}
	case phaseDeploy:
		if later {
			t.resetOnDeploy()
		}
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_DeployEvent{DeployEvent: &skaffoldv1.DeployEvent{Status: v1InProgress}}})
	case phaseStatusCheck:
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_StatusCheckEvent{StatusCheckEvent: &skaffoldv1.StatusCheckEvent{Status: v1Started}}})
	}
}

// taskEnd reports what v1 reports of a task's end: the status check's
// outcome, and the status code of a failed build.
func (t *V1) taskEnd(s step) {
	switch s.phase {
	case phaseBuild:
		if isFailure(s.status) {
			t.state.BuildState.StatusCode = actionableV1(s.errPhase, s.status, s.err).ErrCode
		}
	case phaseStatusCheck:
		if !isFailure(s.status) {
			t.state.StatusCheckState.StatusCode = enums.StatusCode_STATUSCHECK_SUCCESS
			t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_StatusCheckEvent{StatusCheckEvent: &skaffoldv1.StatusCheckEvent{Status: v1Succeeded}}})
			return
		}
		ae := actionableV1(s.errPhase, s.status, s.err)
		t.state.StatusCheckState.StatusCode = ae.ErrCode
		t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_StatusCheckEvent{StatusCheckEvent: &skaffoldv1.StatusCheckEvent{
			Status: v1Failed, Err: ae.Message, ErrCode: ae.ErrCode, ActionableErr: ae}}})
	}
}

// resource reports a watched resource's progress.
func (t *V1) resource(s step) {
	e := &skaffoldv1.ResourceStatusCheckEvent{Resource: s.subtask, Status: v1Outcome(s.status)}
	switch s.status {
	case pb.Status_SUCCEEDED:
		e.Message, e.StatusCode = v1Succeeded, enums.StatusCode_STATUSCHECK_SUCCESS
	case pb.Status_IN_PROGRESS:
		e.Message, e.StatusCode = s.line, pendingCode(s.resourceKind, s.err)
		e.ActionableErr = &skaffoldv1.ActionableErr{ErrCode: e.StatusCode, Message: s.line}
	default:
		e.ActionableErr = actionableV1(s.errPhase, s.status, s.err)
		e.Err, e.StatusCode = e.ActionableErr.Message, e.ActionableErr.ErrCode
	}
	t.add(&skaffoldv1.Event{EventType: &skaffoldv1.Event_ResourceStatusCheckEvent{ResourceStatusCheckEvent: e}})
}
