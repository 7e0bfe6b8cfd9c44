// Package state folds a run's events into where the run stands: every
// artifact, the deploy, every watched resource and every port forward. The Event API's
// GetState serves it, for a running hoist and for each run a collector holds.
package state

import (
	"net"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// Tracker is the state of one run, updated event by event. It is safe for
// concurrent use.
type Tracker struct {
	mu        sync.Mutex
	st        *pb.State
	artifacts map[string]*pb.ArtifactState
	resources map[string]*pb.ResourceState
}

// New returns the state of a run that has not started.
func New() *Tracker {
	return &Tracker{st: &pb.State{Status: pb.Status_IN_PROGRESS},
		artifacts: map[string]*pb.ArtifactState{}, resources: map[string]*pb.ResourceState{}}
}

// Apply folds one event into the state. Events must come in order.
func (t *Tracker) Apply(env *pb.Envelope) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	st.EventId = env.EventId
	st.LastSequence = env.GetEvent().GetSequence()
	switch p := env.GetEvent().GetPayload().(type) {
	case *pb.Event_MetaEvent:
		st.Command = p.MetaEvent.Command
		for _, img := range p.MetaEvent.Artifacts {
			t.artifact(img)
		}
	case *pb.Event_BuildEvent:
		e := p.BuildEvent
		a := t.artifact(e.Image)
		if e.Log != "" {
			return
		}
		a.Status = e.Status
		if e.Artifact != nil {
			a.Artifact = e.Artifact
		}
		a.Error = e.Error
	case *pb.Event_DeployEvent:
		e := p.DeployEvent
		if st.Deploy == nil {
			st.Deploy = &pb.DeployState{}
		}
		d := st.Deploy
		d.Deployer = e.Deployer
		if e.Log != "" {
			return // a line of the deploy's output
		}
		if len(e.Resources) > 0 {
			d.Resources = append(d.Resources, e.Resources...)
			return
		}
		if e.Status == pb.Status_IN_PROGRESS {
			// A new deploy (in hoist dev, each iteration) starts afresh.
			d.Resources, d.Manifests, d.Error = nil, nil, nil
		}
		d.Status = e.Status
		if len(e.Manifests) > 0 {
			d.Manifests = e.Manifests
		}
		d.Error = e.Error
	case *pb.Event_StatusCheckEvent:
		e := p.StatusCheckEvent
		if e.Resource == "" {
			return
		}
		r := t.resources[e.Resource]
		if r == nil {
			r = &pb.ResourceState{Resource: e.Resource}
			t.resources[e.Resource] = r
			st.Resources = append(st.Resources, r)
		}
		r.Status, r.Message, r.Error = e.Status, e.Message, e.Error
	case *pb.Event_PortEvent:
		// A forward keeps its local address and port when it moves to
		// another pod: its last event replaces the one before.
		e := p.PortEvent
		k := portKey(e)
		if i := slices.IndexFunc(st.ForwardedPorts, func(f *pb.PortEvent) bool { return portKey(f) == k }); i >= 0 {
			st.ForwardedPorts[i] = e
		} else {
			st.ForwardedPorts = append(st.ForwardedPorts, e)
		}
	case *pb.Event_TerminationEvent:
		st.Status = p.TerminationEvent.Status
		st.Error = p.TerminationEvent.Error
	}
}

// portKey names a forward: its local address and port.
func portKey(e *pb.PortEvent) string {
	return net.JoinHostPort(e.Address, strconv.FormatUint(uint64(e.LocalPort), 10))
}

func (t *Tracker) artifact(image string) *pb.ArtifactState {
	a := t.artifacts[image]
	if a == nil {
		a = &pb.ArtifactState{Image: image}
		t.artifacts[image] = a
		t.st.Artifacts = append(t.st.Artifacts, a)
	}
	return a
}

// State returns a copy of the current state.
func (t *Tracker) State() *pb.State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return proto.CloneOf(t.st)
}

// From returns a tracker that goes on from a state, as a collector stores
// it between batches of a run's events.
func From(st *pb.State) *Tracker {
	t := New()
	if st == nil {
		return t
	}
	t.st = proto.CloneOf(st)
	for _, a := range t.st.Artifacts {
		t.artifacts[a.Image] = a
	}
	for _, r := range t.st.Resources {
		t.resources[r.Resource] = r
	}
	return t
}
