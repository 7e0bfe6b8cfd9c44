package skaffoldapi

import (
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
)

// State returns the run's v2 state as Skaffold's GetState returns it,
// folded from the events translated so far: each artifact's build, the
// test, render, deploy and sync status, each watched resource, the port
// forwards by local port, the metadata and the automatic triggers. The
// caller owns the result.
func (t *V2) State() *skaffoldv2.State {
	st, _ := proto.Clone(t.state).(*skaffoldv2.State)
	tr := t.opts.triggers()
	st.BuildState.AutoTrigger, st.FileSyncState.AutoTrigger, st.DeployState.AutoTrigger = tr.Build, tr.Sync, tr.Deploy
	return st
}

// metadata is the v2 metadata of the run: its artifacts with their
// builders, its deployers and cluster, and its id.
func (t *V2) metadata(meta *pb.MetaEvent, runID string) *skaffoldv2.Metadata {
	m := &skaffoldv2.Metadata{
		Build:  &skaffoldv2.BuildMetadata{Type: enums.BuildType_LOCAL},
		Deploy: &skaffoldv2.DeployMetadata{},
		Render: &skaffoldv2.RenderMetadata{},
		RunID:  runID,
	}
	for _, image := range meta.GetArtifacts() {
		a := t.opts.artifact(image)
		m.Build.Artifacts = append(m.Build.Artifacts, &skaffoldv2.BuildMetadata_Artifact{
			Type: a.Builder, Name: image, Context: a.Context, Dockerfile: a.Dockerfile})
	}
	if ds := t.opts.deployersOf(meta); len(ds) > 0 {
		for _, d := range ds {
			m.Deploy.Deployers = append(m.Deploy.Deployers, &skaffoldv2.DeployMetadata_Deployer{Type: d.kind, Count: d.count})
		}
		m.Deploy.Cluster = clusterType(t.opts.KubeContext)
	}
	return m
}

// emptyState is the state of a run, or of a dev loop iteration, that has
// not done anything yet (Skaffold's InitializeState).
func (t *V2) emptyState() *skaffoldv2.State {
	artifacts := map[string]string{}
	for _, a := range t.meta.GetBuild().GetArtifacts() {
		artifacts[a.Name] = v2NotStarted
	}
	return &skaffoldv2.State{
		BuildState:       &skaffoldv2.BuildState{Artifacts: artifacts},
		TestState:        &skaffoldv2.TestState{Status: v2NotStarted},
		RenderState:      &skaffoldv2.RenderState{Status: v2NotStarted},
		DeployState:      &skaffoldv2.DeployState{Status: v2NotStarted},
		VerifyState:      &skaffoldv2.VerifyState{Status: v2NotStarted},
		ExecState:        &skaffoldv2.ExecState{Status: v2NotStarted},
		StatusCheckState: &skaffoldv2.StatusCheckState{Status: v2NotStarted, Resources: map[string]string{}},
		ForwardedPorts:   map[int32]*skaffoldv2.PortForwardEvent{},
		FileSyncState:    &skaffoldv2.FileSyncState{Status: v2NotStarted},
		Metadata:         t.meta,
	}
}

// foldV2 folds one event into st as Skaffold's v2 event handler does: the
// Build step of an artifact, the test, render and deploy subtasks, the
// port forwards, each resource's status check and the file sync.
func foldV2(st *skaffoldv2.State, ev *skaffoldv2.Event) {
	switch e := ev.EventType.(type) {
	case *skaffoldv2.Event_BuildSubtaskEvent:
		if e.BuildSubtaskEvent.Step == stepBuild {
			st.BuildState.Artifacts[e.BuildSubtaskEvent.Artifact] = e.BuildSubtaskEvent.Status
		}
	case *skaffoldv2.Event_TestEvent:
		st.TestState.Status = e.TestEvent.Status
	case *skaffoldv2.Event_RenderEvent:
		st.RenderState.Status = e.RenderEvent.Status
	case *skaffoldv2.Event_DeploySubtaskEvent:
		st.DeployState.Status = e.DeploySubtaskEvent.Status
	case *skaffoldv2.Event_PortEvent:
		st.ForwardedPorts[e.PortEvent.LocalPort] = e.PortEvent
	case *skaffoldv2.Event_StatusCheckSubtaskEvent:
		st.StatusCheckState.Resources[e.StatusCheckSubtaskEvent.Resource] = e.StatusCheckSubtaskEvent.Status
	case *skaffoldv2.Event_FileSyncEvent:
		st.FileSyncState.Status = e.FileSyncEvent.Status
	}
}
