package skaffoldapi

import (
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
)

// State returns the run's v1 state as Skaffold's GetState returns it,
// folded from the events translated so far: each artifact's build, the
// test, deploy, status check and sync status with their status codes,
// each watched resource, the port forwards by local port, the metadata
// and the automatic triggers. The caller owns the result.
func (t *V1) State() *skaffoldv1.State {
	st, _ := proto.Clone(t.state).(*skaffoldv1.State)
	tr := t.opts.triggers()
	st.BuildState.AutoTrigger, st.FileSyncState.AutoTrigger, st.DeployState.AutoTrigger = tr.Build, tr.Sync, tr.Deploy
	return st
}

// metadata is the v1 metadata of the run: how many artifacts, built by
// which builders, and its deployers and cluster.
func (t *V1) metadata(meta *pb.MetaEvent) *skaffoldv1.Metadata {
	m := &skaffoldv1.Metadata{
		Build:  &skaffoldv1.BuildMetadata{NumberOfArtifacts: int32(len(meta.GetArtifacts())), Type: enums.BuildType_LOCAL},
		Deploy: &skaffoldv1.DeployMetadata{},
	}
	// Builders in the order they first appear, counted.
	count := map[enums.BuilderType]*skaffoldv1.BuildMetadata_ImageBuilder{}
	for _, image := range meta.GetArtifacts() {
		kind := t.opts.artifact(image).Builder
		if b, ok := count[kind]; ok {
			b.Count++
			continue
		}
		b := &skaffoldv1.BuildMetadata_ImageBuilder{Type: kind, Count: 1}
		count[kind] = b
		m.Build.Builders = append(m.Build.Builders, b)
	}
	if ds := t.opts.deployersOf(meta); len(ds) > 0 {
		for _, d := range ds {
			m.Deploy.Deployers = append(m.Deploy.Deployers, &skaffoldv1.DeployMetadata_Deployer{Type: d.kind, Count: d.count})
		}
		m.Deploy.Cluster = clusterType(t.opts.KubeContext)
	}
	return m
}

// emptyState is the state of a run that has not done anything yet
// (Skaffold's InitializeState): every artifact not started.
func (t *V1) emptyState(artifacts []string) *skaffoldv1.State {
	builds := make(map[string]string, len(artifacts))
	for _, a := range artifacts {
		builds[a] = v1NotStarted
	}
	return &skaffoldv1.State{
		BuildState:       &skaffoldv1.BuildState{Artifacts: builds},
		TestState:        &skaffoldv1.TestState{Status: v1NotStarted},
		DeployState:      &skaffoldv1.DeployState{Status: v1NotStarted},
		StatusCheckState: emptyStatusCheckV1(),
		ForwardedPorts:   map[int32]*skaffoldv1.PortEvent{},
		FileSyncState:    &skaffoldv1.FileSyncState{Status: v1NotStarted},
		Metadata:         t.meta,
	}
}

func emptyStatusCheckV1() *skaffoldv1.StatusCheckState {
	return &skaffoldv1.StatusCheckState{Status: v1NotStarted, Resources: map[string]string{}}
}

// resetOnBuild starts the state afresh, but for its artifacts, metadata
// and port forwards, as Skaffold does when a dev loop iteration builds
// (ResetStateOnBuild). Skaffold restarts its port forwards then; hoist's
// outlive the iteration, and so do they here.
func (t *V1) resetOnBuild() {
	artifacts := make([]string, 0, len(t.state.BuildState.Artifacts))
	for a := range t.state.BuildState.Artifacts {
		artifacts = append(artifacts, a)
	}
	ports := t.state.ForwardedPorts
	t.state = t.emptyState(artifacts)
	t.state.ForwardedPorts = ports
}

// resetOnDeploy starts the deploy and status check states afresh, as
// Skaffold does when a dev loop iteration deploys (ResetStateOnDeploy).
func (t *V1) resetOnDeploy() {
	t.state.DeployState.Status = v1NotStarted
	t.state.DeployState.StatusCode = enums.StatusCode_OK
	t.state.StatusCheckState = emptyStatusCheckV1()
	t.state.DebuggingContainers = nil
}

// fold folds one event into the state as Skaffold's v1 event handler
// does.
func (t *V1) fold(ev *skaffoldv1.Event) {
	st := t.state
	switch e := ev.EventType.(type) {
	case *skaffoldv1.Event_BuildEvent:
		st.BuildState.Artifacts[e.BuildEvent.Artifact] = e.BuildEvent.Status
	case *skaffoldv1.Event_TestEvent:
		st.TestState.Status = e.TestEvent.Status
	case *skaffoldv1.Event_DeployEvent:
		st.DeployState.Status = e.DeployEvent.Status
	case *skaffoldv1.Event_PortEvent:
		st.ForwardedPorts[e.PortEvent.LocalPort] = e.PortEvent
	case *skaffoldv1.Event_StatusCheckEvent:
		st.StatusCheckState.Status = e.StatusCheckEvent.Status
	case *skaffoldv1.Event_ResourceStatusCheckEvent:
		st.StatusCheckState.Resources[e.ResourceStatusCheckEvent.Resource] = e.ResourceStatusCheckEvent.Status
	case *skaffoldv1.Event_FileSyncEvent:
		st.FileSyncState.Status = e.FileSyncEvent.Status
	}
}
