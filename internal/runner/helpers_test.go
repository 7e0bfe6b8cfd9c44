package runner_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/event"
)

// published returns the events published on bus so far, without the
// sequence and timestamp the bus stamps them with.
func published(t *testing.T, bus *event.Bus) []*pb.Event {
	t.Helper()
	last := bus.Last()
	sub := bus.Subscribe(0)
	defer sub.Close()
	var out []*pb.Event
	for uint32(len(out)) < last {
		env, err := sub.Next(t.Context())
		if err != nil {
			t.Fatalf("reading the events: %v", err)
		}
		ev, ok := proto.Clone(env.Event).(*pb.Event)
		if !ok {
			t.Fatalf("a clone of %T is not a *pb.Event", env.Event)
		}
		ev.Sequence, ev.Timestamp = 0, nil
		out = append(out, ev)
	}
	return out
}

// diffEvents compares events as protobuf messages.
func diffEvents(want, got []*pb.Event) string {
	return cmp.Diff(want, got, protocmp.Transform())
}

// sortBuilds orders each run of consecutive buildEvents by image, keeping
// each image's own order: artifacts build concurrently, so their events
// interleave in any order.
func sortBuilds(evs []*pb.Event) []*pb.Event {
	out := slices.Clone(evs)
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && out[j].GetBuildEvent() != nil {
			j++
		}
		slices.SortStableFunc(out[i:j], func(a, b *pb.Event) int {
			return strings.Compare(a.GetBuildEvent().GetImage(), b.GetBuildEvent().GetImage())
		})
		i = max(j, i+1)
	}
	return out
}

func buildEvent(e *pb.BuildEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: e}}
}

func deployEvent(e *pb.DeployEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: e}}
}

func devEvent(e *pb.DevLoopEvent) *pb.Event {
	return &pb.Event{Payload: &pb.Event_DevLoopEvent{DevLoopEvent: e}}
}

// built is the events of a build of image that succeeded as image:v1 with
// digest.
func built(image, digest string) []*pb.Event {
	return []*pb.Event{
		buildEvent(&pb.BuildEvent{Image: image, Status: pb.Status_IN_PROGRESS}),
		buildEvent(&pb.BuildEvent{Image: image, Status: pb.Status_SUCCEEDED,
			Artifact: &pb.Artifact{ImageName: image, Tag: image + ":v1", Digest: digest}}),
	}
}

// buildFunc is how a fakeBuilder builds one artifact.
type buildFunc func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error)

// fakeBuilder builds each image with its own function, or else with
// succeed.
type fakeBuilder struct {
	funcs map[string]buildFunc

	mu     sync.Mutex
	builds map[string]int // how many times each image was built
}

func (f *fakeBuilder) Build(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
	f.mu.Lock()
	if f.builds == nil {
		f.builds = map[string]int{}
	}
	f.builds[a.ImageName]++
	f.mu.Unlock()
	if fn := f.funcs[a.ImageName]; fn != nil {
		return fn(ctx, out, a, tag)
	}
	return succeed("sha256:"+a.ImageName)(ctx, out, a, tag)
}

func (f *fakeBuilder) count(image string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builds[image]
}

func succeed(digest string) buildFunc {
	return func(_ context.Context, _ build.Output, a *config.Artifact, tag string) (build.Result, error) {
		return build.Result{ImageName: a.ImageName, Tag: tag, Digest: digest}, nil
	}
}

// fakeDeployer applies nothing and reports what it is told to; it ends
// with its context's error when that is done.
type fakeDeployer struct {
	name    string // kubectl unless set
	applied []deploy.Resource
	files   []string
	err     error

	mu       sync.Mutex
	deployed [][]build.Result
}

var _ deploy.Deployer = (*fakeDeployer)(nil)

func (f *fakeDeployer) Name() string {
	if f.name == "" {
		return "kubectl"
	}
	return f.name
}

func (f *fakeDeployer) Deploy(ctx context.Context, builds []build.Result, r deploy.Reporter) ([]deploy.Resource, []string, error) {
	f.mu.Lock()
	f.deployed = append(f.deployed, builds)
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, f.files, err
	}
	for _, res := range f.applied {
		r.Applied(res)
	}
	return f.applied, f.files, f.err
}

func (f *fakeDeployer) Delete(ctx context.Context, r deploy.Reporter) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return f.files, err
	}
	for _, res := range f.applied {
		res.Action = "deleted"
		r.Applied(res)
	}
	return f.files, f.err
}
