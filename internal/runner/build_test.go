package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/cache"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// artifact is a custom artifact whose context is a temporary folder with
// one file.
func artifact(t *testing.T, image string) *config.Artifact {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &config.Artifact{ImageName: image, Context: dir, Custom: &config.CustomArtifact{BuildCommand: "make"}}
}

// codeOf is err's code, or "" for no error.
func codeOf(err error) fault.Code {
	if err == nil {
		return ""
	}
	return fault.CodeOf(err)
}

// builds returns builds with b on a new bus, and a function that returns
// the events published there.
func builds(t *testing.T, b *fakeBuilder) (*runner.Builds, func() []*pb.Event) {
	bus := testutil.NewBus(t)
	return &runner.Builds{Bus: bus, Tag: "v1", Concurrency: 0,
			BuilderFor: func(*config.Artifact) (build.Builder, error) { return b, nil }},
		func() []*pb.Event { return sortBuilds(published(t, bus)) }
}

func TestBuilds(t *testing.T) {
	errRun := fault.New(fault.BuildRunFailed, `the build of "bad" failed with exit status 2`, "fix it")
	for _, tc := range []struct {
		name        string
		images      []string
		concurrency int
		// funcs are the builds of the images; startedSlow is a channel
		// the build of "slow" closes when it starts.
		funcs       func(startedSlow chan struct{}) map[string]buildFunc
		want        []*pb.Event
		wantResults []build.Result
		wantCode    fault.Code
	}{
		{
			name:   "every artifact built, output reported with its step",
			images: []string{"app", "web"},
			funcs: func(chan struct{}) map[string]buildFunc {
				return map[string]buildFunc{"web": func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
					out.Line("Step 1/2 : FROM scratch", &build.Step{Index: 1, Total: 2, Instruction: "FROM scratch"})
					out.Line("done", nil)
					return succeed("sha256:web")(ctx, out, a, tag)
				}}
			},
			want: append(built("app", "sha256:app"),
				buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_IN_PROGRESS}),
				buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_IN_PROGRESS, Log: "Step 1/2 : FROM scratch",
					Step: &pb.Step{Index: 1, Total: 2, Instruction: "FROM scratch"}}),
				buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_IN_PROGRESS, Log: "done"}),
				buildEvent(&pb.BuildEvent{Image: "web", Status: pb.Status_SUCCEEDED,
					Artifact: &pb.Artifact{ImageName: "web", Tag: "web:v1", Digest: "sha256:web"}}),
			),
			wantResults: []build.Result{
				{ImageName: "app", Tag: "app:v1", Digest: "sha256:app"},
				{ImageName: "web", Tag: "web:v1", Digest: "sha256:web"},
			},
		},
		{
			name:        "a failure cancels the build still running, and is the error returned",
			images:      []string{"slow", "bad"},
			concurrency: 2,
			funcs: func(startedSlow chan struct{}) map[string]buildFunc {
				return map[string]buildFunc{
					"bad": func(ctx context.Context, _ build.Output, _ *config.Artifact, _ string) (build.Result, error) {
						<-startedSlow
						return build.Result{}, errRun
					},
					"slow": func(ctx context.Context, _ build.Output, _ *config.Artifact, _ string) (build.Result, error) {
						close(startedSlow)
						select {
						case <-ctx.Done():
							return build.Result{}, ctx.Err()
						case <-time.After(10 * time.Second):
							return build.Result{}, errors.New("not canceled")
						}
					},
				}
			},
			want: []*pb.Event{
				buildEvent(&pb.BuildEvent{Image: "bad", Status: pb.Status_IN_PROGRESS}),
				buildEvent(&pb.BuildEvent{Image: "bad", Status: pb.Status_FAILED, Error: &pb.Error{
					Code: "BUILD_RUN_FAILED", Message: errRun.Message, Suggestions: []string{"fix it"}}}),
				buildEvent(&pb.BuildEvent{Image: "slow", Status: pb.Status_IN_PROGRESS}),
				buildEvent(&pb.BuildEvent{Image: "slow", Status: pb.Status_CANCELED, Error: &pb.Error{
					Code:    "CANCELED",
					Message: `canceled because the build of "bad" failed: ` + errRun.Message}}),
			},
			wantCode: fault.BuildRunFailed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBuilder{funcs: tc.funcs(make(chan struct{}))}
			bs, events := builds(t, b)
			bs.Concurrency = tc.concurrency
			var artifacts []*config.Artifact
			for _, img := range tc.images {
				artifacts = append(artifacts, artifact(t, img))
			}
			results, err := bs.Run(t.Context(), artifacts)
			if got := codeOf(err); got != tc.wantCode {
				t.Errorf("Run returned %v (code %q), want code %q", err, got, tc.wantCode)
			}
			if diff := cmp.Diff(tc.wantResults, results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := diffEvents(tc.want, events()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildsCanceled cancels the run while one artifact builds and the
// other waits for its turn: both end CANCELED, the waiting one without
// starting, and the error returned ends the run as canceled.
func TestBuildsCanceled(t *testing.T) {
	started := make(chan string, 2)
	block := func(ctx context.Context, _ build.Output, a *config.Artifact, _ string) (build.Result, error) {
		started <- a.ImageName
		<-ctx.Done()
		return build.Result{}, ctx.Err()
	}
	b := &fakeBuilder{funcs: map[string]buildFunc{"app": block, "web": block}}
	bs, events := builds(t, b)
	bs.Concurrency = 1
	ctx, cancel := context.WithCancel(t.Context())
	firstCh := make(chan string, 1)
	go func() {
		firstCh <- <-started
		cancel()
	}()
	_, err := bs.Run(ctx, []*config.Artifact{artifact(t, "app"), artifact(t, "web")})
	first := <-firstCh
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want a cancellation", err)
	}
	if b.count("app")+b.count("web") != 1 {
		t.Errorf("builds started: app %d, web %d; want only the first", b.count("app"), b.count("web"))
	}
	waiting := map[string]string{"app": "web", "web": "app"}[first]
	want := map[string][]*pb.Event{
		first: {
			buildEvent(&pb.BuildEvent{Image: first, Status: pb.Status_IN_PROGRESS}),
			buildEvent(&pb.BuildEvent{Image: first, Status: pb.Status_CANCELED,
				Error: &pb.Error{Code: "CANCELED", Message: `build of "` + first + `" canceled: context canceled`}}),
		},
		waiting: {
			buildEvent(&pb.BuildEvent{Image: waiting, Status: pb.Status_CANCELED,
				Error: &pb.Error{Code: "CANCELED", Message: "canceled"}}),
		},
	}
	got := map[string][]*pb.Event{}
	for _, ev := range events() {
		got[ev.GetBuildEvent().GetImage()] = append(got[ev.GetBuildEvent().GetImage()], ev)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("events by image (-want +got):\n%s", diff)
	}

	// The run ends with a terminationEvent that says so.
	runner.Finish(bs.Bus, err)
	evs := published(t, bs.Bus)
	end := evs[len(evs)-1].GetTerminationEvent()
	if end.GetStatus() != pb.Status_CANCELED || end.GetError().GetCode() != string(fault.Canceled) {
		t.Errorf("terminationEvent = %v, want CANCELED with code CANCELED", end)
	}
}

// fakeReuser reuses a cached image when it is told it still exists.
type fakeReuser struct {
	exists bool
	err    error
	refs   []string // the references asked for
}

func (r *fakeReuser) Reuse(_ context.Context, prev build.Result, ref string) (build.Result, bool, error) {
	r.refs = append(r.refs, ref)
	if !r.exists {
		return build.Result{}, false, r.err
	}
	return build.Result{Tag: ref, Digest: prev.Digest}, true, nil
}

func TestBuildsCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		// between changes things between the first build and the second.
		between    func(t *testing.T, a *config.Artifact)
		reuser     *fakeReuser
		wantSecond []*pb.Event
		wantBuilds int
		wantReused []string
	}{
		{
			name:   "unchanged inputs and the image still there: skipped",
			reuser: &fakeReuser{exists: true},
			wantSecond: []*pb.Event{
				buildEvent(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}),
				buildEvent(&pb.BuildEvent{Image: "app", Status: pb.Status_SKIPPED,
					Artifact: &pb.Artifact{ImageName: "app", Tag: "reg.local/app:v1", Digest: "sha256:1"}}),
			},
			wantBuilds: 1,
			wantReused: []string{"reg.local/app:v1"},
		},
		{
			name:       "the image is gone: built again",
			reuser:     &fakeReuser{},
			wantSecond: builtAs("reg.local/app:v1", "sha256:2"),
			wantBuilds: 2,
			wantReused: []string{"reg.local/app:v1"},
		},
		{
			name:       "the image cannot be checked: built again",
			reuser:     &fakeReuser{err: errors.New("registry unreachable")},
			wantSecond: builtAs("reg.local/app:v1", "sha256:2"),
			wantBuilds: 2,
			wantReused: []string{"reg.local/app:v1"},
		},
		{
			name: "changed inputs: built again without asking",
			between: func(t *testing.T, a *config.Artifact) {
				if err := os.WriteFile(filepath.Join(a.Context, "main.go"), []byte("package changed\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			reuser:     &fakeReuser{exists: true},
			wantSecond: builtAs("reg.local/app:v1", "sha256:2"),
			wantBuilds: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			b := &fakeBuilder{funcs: map[string]buildFunc{"app": func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
				n++
				return succeed("sha256:"+strconv.Itoa(n))(ctx, out, a, tag)
			}}}
			c, err := cache.Open(filepath.Join(t.TempDir(), "artifacts.json"))
			if err != nil {
				t.Fatal(err)
			}
			a := artifact(t, "app")
			bs, _ := builds(t, b)
			bs.DefaultRepo, bs.Cache, bs.Reuser = "reg.local", c, tc.reuser
			if _, err := bs.Run(t.Context(), []*config.Artifact{a}); err != nil {
				t.Fatal(err)
			}
			if len(tc.reuser.refs) != 0 {
				t.Errorf("the first build asked to reuse %v from an empty cache", tc.reuser.refs)
			}
			if tc.between != nil {
				tc.between(t, a)
			}
			// A second run on a new bus, as the next hoist build would.
			second, events := builds(t, b)
			second.DefaultRepo, second.Cache, second.Reuser = "reg.local", c, tc.reuser
			results, err := second.Run(t.Context(), []*config.Artifact{a})
			if err != nil {
				t.Fatal(err)
			}
			if diff := diffEvents(tc.wantSecond, events()); diff != "" {
				t.Errorf("events of the second run (-want +got):\n%s", diff)
			}
			wantResult := tc.wantSecond[len(tc.wantSecond)-1].GetBuildEvent().GetArtifact()
			if diff := cmp.Diff([]build.Result{{ImageName: "app", Tag: wantResult.Tag, Digest: wantResult.Digest}}, results); diff != "" {
				t.Errorf("results of the second run (-want +got):\n%s", diff)
			}
			if got := b.count("app"); got != tc.wantBuilds {
				t.Errorf("built %d times, want %d", got, tc.wantBuilds)
			}
			if diff := cmp.Diff(tc.wantReused, tc.reuser.refs); diff != "" {
				t.Errorf("reuse asked for (-want +got):\n%s", diff)
			}
		})
	}
}

// builtAs is the events of a build of "app" that succeeded as ref.
func builtAs(ref, digest string) []*pb.Event {
	return []*pb.Event{
		buildEvent(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}),
		buildEvent(&pb.BuildEvent{Image: "app", Status: pb.Status_SUCCEEDED,
			Artifact: &pb.Artifact{ImageName: "app", Tag: ref, Digest: digest}}),
	}
}

func TestBuildsTag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		builds  runner.Builds
		want    string
		wantErr fault.Code
	}{
		{name: "--tag", builds: runner.Builds{Tag: "fixed"}, want: "app:fixed"},
		{name: "the tag policy, under --default-repo", builds: runner.Builds{DefaultRepo: "reg.local/team",
			Tagger: &tag.Tagger{Policy: config.TagPolicy{EnvTemplate: &config.EnvTemplateTagger{Template: "{{.V}}"}},
				Env: map[string]string{"V": "from-env"}}}, want: "reg.local/team/app:from-env"},
		{name: "a policy that fails", builds: runner.Builds{
			Tagger: &tag.Tagger{Policy: config.TagPolicy{EnvTemplate: &config.EnvTemplateTagger{Template: "{{"}}}},
			wantErr: fault.TagFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := tc.builds
			bs.Bus = testutil.NewBus(t)
			var got string
			bs.BuilderFor = func(*config.Artifact) (build.Builder, error) {
				return &fakeBuilder{funcs: map[string]buildFunc{"app": func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
					got = tag
					return succeed("sha256:app")(ctx, out, a, tag)
				}}}, nil
			}
			_, err := bs.Run(t.Context(), []*config.Artifact{artifact(t, "app")})
			if got := codeOf(err); got != tc.wantErr {
				t.Fatalf("Run returned %v (code %q), want code %q", err, got, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("built as %q, want %q", got, tc.want)
			}
		})
	}
}

// A build may print 1 MiB ahead of its events, with history or without:
// the bus's publishers wait for the run's sinks either way.
func TestBuildsBacklog(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []event.Option
	}{
		{"with history", nil},
		{"without history", []event.Option{event.WithoutHistory()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := testutil.NewBus(t, tc.opts...)
			got := -1
			bs := runner.Builds{Bus: bus, Tag: "v1", BuilderFor: func(*config.Artifact) (build.Builder, error) {
				return &fakeBuilder{funcs: map[string]buildFunc{"app": func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
					got = build.Backlog(out)
					return succeed("sha256:app")(ctx, out, a, tag)
				}}}, nil
			}}
			if _, err := bs.Run(t.Context(), []*config.Artifact{artifact(t, "app")}); err != nil {
				t.Fatal(err)
			}
			if got != 1<<20 {
				t.Errorf("backlog %d bytes, want 1 MiB", got)
			}
		})
	}
}

// An artifact that requires others builds after them, with their
// references by alias; the order holds even with every build at once.
func TestBuildsRequires(t *testing.T) {
	var mu sync.Mutex
	var order []string
	var gotRefs map[string]string
	record := func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
		mu.Lock()
		order = append(order, a.ImageName)
		if a.ImageName == "app" {
			gotRefs = a.DependencyRefs
		}
		mu.Unlock()
		return build.Result{ImageName: a.ImageName, Tag: "reg/" + tag, Digest: "sha256:" + a.ImageName, Pushed: true}, nil
	}
	b := &fakeBuilder{funcs: map[string]buildFunc{"app": record, "base": record, "tools": record}}
	bs, _ := builds(t, b)
	arts := []*config.Artifact{
		{ImageName: "app", Requires: []*config.ArtifactDependency{{Image: "base", Alias: "BASE"}, {Image: "tools", Alias: "tools"}}},
		{ImageName: "tools", Requires: []*config.ArtifactDependency{{Image: "base", Alias: "BASE"}}},
		{ImageName: "base"},
	}
	res, err := bs.Run(t.Context(), arts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"base", "tools", "app"}, order); diff != "" {
		t.Errorf("build order (-want +got):\n%s", diff)
	}
	want := map[string]string{"BASE": "reg/base:v1@sha256:base", "tools": "reg/tools:v1@sha256:tools"}
	if diff := cmp.Diff(want, gotRefs); diff != "" {
		t.Errorf("app's dependency references (-want +got):\n%s", diff)
	}
	if res[0].ImageName != "app" || arts[0].DependencyRefs != nil {
		t.Errorf("results out of order, or the config's artifact was changed: %v %v", res, arts[0].DependencyRefs)
	}
}

// Hooks run around the builds: the build's own once, an artifact's around
// its build with SKAFFOLD_IMAGE and the rest set; a failing one fails.
func TestBuildsHooks(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "hooks.log")
	hook := func(what string) config.HostHook {
		return config.HostHook{Command: []string{"sh", "-c", `echo "` + what + ` $SKAFFOLD_IMAGE $SKAFFOLD_IMAGE_TAG $SKAFFOLD_PUSH_IMAGE" >> ` + logFile + `; echo ran ` + what}, Dir: dir}
	}
	b := &fakeBuilder{}
	bs, events := builds(t, b)
	var out strings.Builder
	bs.Hooks, bs.HookOut = &config.BuildHooks{Before: []config.HostHook{hook("all-before")}, After: []config.HostHook{hook("all-after")}}, &out
	a := &config.Artifact{ImageName: "app", Context: dir, Hooks: &config.BuildHooks{
		Before: []config.HostHook{hook("app-before"), {Command: []string{"false"}, OS: []string{"plan9"}}},
		After:  []config.HostHook{hook("app-after")}}}
	if _, err := bs.Run(t.Context(), []*config.Artifact{a}); err != nil {
		t.Fatal(err)
	}
	want := "all-before   \napp-before app:v1 v1 false\napp-after app:v1 v1 false\nall-after   \n"
	if got, _ := os.ReadFile(logFile); string(got) != want {
		t.Errorf("hooks ran as\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(out.String(), "[pre-build hook] ran all-before") {
		t.Errorf("the build's hook output: %q", out.String())
	}
	var logged []string
	for _, e := range events() {
		if l := e.GetBuildEvent().GetLog(); l != "" {
			logged = append(logged, l)
		}
	}
	if diff := cmp.Diff([]string{"ran app-before", "ran app-after"}, logged); diff != "" {
		t.Errorf("the artifact's hook output in its build log (-want +got):\n%s", diff)
	}

	a.Hooks.Before = []config.HostHook{{Command: []string{"sh", "-c", "echo no database; exit 3"}, Dir: dir}}
	_, err := bs.Run(t.Context(), []*config.Artifact{a})
	if fault.CodeOf(err) != fault.BuildHookFailed || !strings.Contains(err.Error(), "no database") {
		t.Errorf("a failing hook: %v", err)
	}
}
