package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/kubernetes/fake"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
	"github.com/hoist-dev/hoist/internal/testutil"
)

const debounce = 300 * time.Millisecond

// fakeWatcher hands the dev loop what a test sends, one batch a call of
// Next, and tells the test when the loop waits for the next one.
type fakeWatcher struct {
	batches chan batch
	idle    chan struct{}

	mu    sync.Mutex
	roots []string // the folders watched, in order
	quiet []time.Duration
}

type batch struct {
	files []string
	err   error
}

func newFakeWatcher() *fakeWatcher {
	return &fakeWatcher{batches: make(chan batch), idle: make(chan struct{})}
}

func (w *fakeWatcher) Next(ctx context.Context, quiet time.Duration, poke <-chan struct{}) ([]string, error) {
	w.mu.Lock()
	w.quiet = append(w.quiet, quiet)
	w.mu.Unlock()
	select {
	case w.idle <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case b := <-w.batches:
		return b.files, b.err
	case <-poke:
		return []string{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *fakeWatcher) Add(root string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.roots = append(w.roots, root)
	return nil
}

func (w *fakeWatcher) Close() error { return nil }

// wait waits until the loop waits for changes.
func (w *fakeWatcher) wait(t *testing.T) {
	t.Helper()
	select {
	case <-w.idle:
	case <-time.After(10 * time.Second):
		t.Fatal("the dev loop did not wait for changes")
	}
}

// project is a config with two custom artifacts, app and web, and a
// kubectl deploy of k8s/*.yaml, in a temporary folder.
func project(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"skaffold.yaml", "README.md", "app/main.go", "app/old.go", "web/index.html", "k8s/app.yaml", "shared/skaffold.yaml", "app-tests/check.sh"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &config.Config{
		File: filepath.Join(dir, "skaffold.yaml"),
		// It requires the config in shared/.
		Files: []string{filepath.Join(dir, "skaffold.yaml"), filepath.Join(dir, "shared", "skaffold.yaml")},
		Dir:   dir,
		Build: config.Build{Artifacts: []*config.Artifact{
			{ImageName: "app", Context: filepath.Join(dir, "app"), Custom: &config.CustomArtifact{BuildCommand: "make"}},
			{ImageName: "web", Context: filepath.Join(dir, "web"), Custom: &config.CustomArtifact{BuildCommand: "make"}},
		}},
		Deploy: config.Deploy{Kubectl: &config.KubectlDeploy{Manifests: []string{"k8s/*.yaml"}}},
		Test: []*config.TestCase{{Image: "app", Context: filepath.Join(dir, "app-tests"),
			Custom: []*config.CustomTest{{Command: "sh check.sh", Dependencies: &config.CustomTestDependencies{Paths: []string{"*.sh"}}}}}},
	}
}

// step is what happens while the dev loop waits for changes.
type step struct {
	// change changes files in the project's folder first.
	change func(t *testing.T, dir string)
	// files are the changes the watcher reports, relative to the folder.
	files []string
	// err is what went wrong while watching, reported instead of files.
	err error
	// execute calls Execute(true, false) instead of reporting changes.
	execute bool
}

func iteration(n uint32, status pb.Status, files ...string) *pb.Event {
	return devEvent(&pb.DevLoopEvent{Iteration: n, Status: status, ChangedFiles: files})
}

func failedIteration(n uint32, e *pb.Error, files ...string) *pb.Event {
	return devEvent(&pb.DevLoopEvent{Iteration: n, Status: pb.Status_FAILED, ChangedFiles: files, Error: e})
}

var deployed = []*pb.Event{
	deployEvent(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_IN_PROGRESS}),
	deployEvent(&pb.DeployEvent{Deployer: "kubectl", Status: pb.Status_SUCCEEDED, Manifests: []string{"k8s/app.yaml"}}),
}

func concat(parts ...[]*pb.Event) []*pb.Event {
	var out []*pb.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(e *pb.Event) []*pb.Event { return []*pb.Event{e} }

// firstIteration builds both artifacts and deploys them.
var firstIteration = concat(
	one(iteration(1, pb.Status_IN_PROGRESS)),
	built("app", "sha256:app-1"), built("web", "sha256:web-1"),
	deployed,
	one(iteration(1, pb.Status_SUCCEEDED)),
)

// devBuilder builds an image with a new digest each time, and fails while
// a file named BROKEN is in its context.
func devBuilder() *fakeBuilder {
	var mu sync.Mutex
	n := map[string]int{}
	fn := func(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
		if _, err := os.Stat(filepath.Join(a.Context, "BROKEN")); err == nil {
			return build.Result{}, fault.New(fault.BuildCustomCommandFail, "the build command failed")
		}
		mu.Lock()
		n[a.ImageName]++
		d := "sha256:" + a.ImageName + "-" + strconv.Itoa(n[a.ImageName])
		mu.Unlock()
		return succeed(d)(ctx, out, a, tag)
	}
	return &fakeBuilder{funcs: map[string]buildFunc{"app": fn, "web": fn, "api": fn}}
}

type devRun struct {
	bus      *event.Bus
	dev      *runner.Dev
	watcher  *fakeWatcher
	deployer *fakeDeployer
	exec     *fakeExec
	loads    int
}

// startDev runs a dev loop on cfg with a fake watcher, builder and
// deployer until the test ends it with stop.
func startDev(t *testing.T, cfg *config.Config, opts runner.DevOptions, load func() (*config.Config, error)) (*devRun, func() error) {
	t.Helper()
	r := &devRun{bus: testutil.NewBus(t), watcher: newFakeWatcher(), deployer: &fakeDeployer{files: []string{"k8s/app.yaml"}}, exec: &fakeExec{}}
	// The deployed pods: one runs each image as the builder tags it.
	client := fake.NewClientset(runningPod("app-1", "app:v1"), runningPod("web-1", "web:v1"))
	b := devBuilder()
	opts.Bus, opts.Cfg, opts.Debounce = r.bus, cfg, debounce
	opts.Load = func() (*config.Config, error) {
		r.loads++
		return load()
	}
	opts.Build = func(ctx context.Context, _ *config.Config, artifacts []*config.Artifact) ([]build.Result, error) {
		bs := &runner.Builds{Bus: r.bus, Tag: "v1", BuilderFor: func(*config.Artifact) (build.Builder, error) { return b, nil }}
		return bs.Run(ctx, artifacts)
	}
	opts.Deployer = func(context.Context, *config.Config) (*runner.Deploys, error) {
		return &runner.Deploys{Bus: r.bus, Deployers: []deploy.Deployer{r.deployer}, Client: client, Exec: r.exec.run, Namespace: "default"}, nil
	}
	opts.Test = func(_ context.Context, _ *config.Config, results []build.Result) error {
		for _, res := range results {
			r.bus.Publish(&pb.Event{Payload: &pb.Event_TestEvent{TestEvent: &pb.TestEvent{Image: res.ImageName, Status: pb.Status_SUCCEEDED}}})
		}
		return nil
	}
	opts.Watch = func(roots []string) (runner.Watcher, error) {
		for _, root := range roots {
			if err := r.watcher.Add(root); err != nil {
				return nil, err
			}
		}
		return r.watcher, nil
	}
	r.dev = runner.NewDev(opts)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.dev.Run(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Error("the dev loop did not stop")
			return nil
		}
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
	return r, stop
}

func TestDevLoop(t *testing.T) {
	errConfig := fault.New(fault.ConfigInvalid, "skaffold.yaml:9:1: unknown field \"biuld\"", "fix the field's name")
	for _, tc := range []struct {
		name  string
		steps []step
		// load is the config read again after skaffold.yaml changed.
		load       func(old *config.Config) (*config.Config, error)
		manual     bool
		cleanup    bool
		want       []*pb.Event // after the first iteration
		wantLoads  int
		wantRoots  []string // watched after the first, relative to the project
		wantDeploy int      // deploys after the first
	}{
		{
			name:  "a changed input rebuilds its artifact and redeploys",
			steps: []step{{files: []string{"app/main.go"}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "app/main.go")),
				built("app", "sha256:app-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "app/main.go")),
			),
			wantDeploy: 1,
		},
		{
			name: "a new file in a context is an input",
			steps: []step{{
				change: func(t *testing.T, dir string) { write(t, dir, "web/new.css") },
				files:  []string{"web/new.css"},
			}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/new.css")),
				built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "web/new.css")),
			),
			wantDeploy: 1,
		},
		{
			name: "a deleted input is still one",
			steps: []step{{
				change: func(t *testing.T, dir string) { remove(t, dir, "app/old.go") },
				files:  []string{"app/old.go"},
			}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "app/old.go")),
				built("app", "sha256:app-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "app/old.go")),
			),
			wantDeploy: 1,
		},
		{
			name:  "a manifest change redeploys without building",
			steps: []step{{files: []string{"k8s/app.yaml"}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "k8s/app.yaml")),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "k8s/app.yaml")),
			),
			wantDeploy: 1,
		},
		{
			name:  "a file of no artifact is ignored",
			steps: []step{{files: []string{"README.md"}}, {files: []string{"web/index.html"}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "web/index.html")),
				built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantDeploy: 1,
		},
		{
			name:  "one iteration for a burst",
			steps: []step{{files: []string{"README.md", "app/main.go", "k8s/app.yaml", "web/index.html"}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "app/main.go", "k8s/app.yaml", "web/index.html")),
				built("app", "sha256:app-2"), built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "app/main.go", "k8s/app.yaml", "web/index.html")),
			),
			wantDeploy: 1,
		},
		{
			name:  "a changed config reloads: everything is built and deployed again",
			steps: []step{{files: []string{"skaffold.yaml"}}},
			load: func(old *config.Config) (*config.Config, error) {
				cfg := *old
				cfg.Build.Artifacts = append(cfg.Build.Artifacts[:1:1],
					&config.Artifact{ImageName: "api", Context: filepath.Join(old.Dir, "app"), Custom: &config.CustomArtifact{BuildCommand: "make api"}})
				return &cfg, nil
			},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "skaffold.yaml")),
				built("api", "sha256:api-1"), built("app", "sha256:app-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "skaffold.yaml")),
			),
			wantLoads:  1,
			wantRoots:  []string{".", ".", "shared", "app", "app"},
			wantDeploy: 1,
		},
		{
			name:  "a changed test input runs the tests again, without a build or a deploy",
			steps: []step{{files: []string{"app-tests/check.sh"}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "app-tests/check.sh")),
				one(&pb.Event{Payload: &pb.Event_TestEvent{TestEvent: &pb.TestEvent{Image: "app", Status: pb.Status_SUCCEEDED}}}),
				one(iteration(2, pb.Status_SUCCEEDED, "app-tests/check.sh")),
			),
		},
		{
			name:  "a changed required config reloads too",
			steps: []step{{files: []string{"shared/skaffold.yaml"}}},
			load:  func(old *config.Config) (*config.Config, error) { return old, nil },
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "shared/skaffold.yaml")),
				built("app", "sha256:app-2"), built("web", "sha256:web-2"),
				deployed,
				one(iteration(2, pb.Status_SUCCEEDED, "shared/skaffold.yaml")),
			),
			wantLoads:  1,
			wantRoots:  []string{".", ".", "shared", "app", "web"},
			wantDeploy: 1,
		},
		{
			name:  "a broken config is reported and the old one kept",
			steps: []step{{files: []string{"skaffold.yaml"}}, {files: []string{"web/index.html"}}},
			load:  func(*config.Config) (*config.Config, error) { return nil, errConfig },
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "skaffold.yaml")),
				one(failedIteration(2, &pb.Error{Code: "CONFIG_INVALID", Message: errConfig.Message,
					Suggestions: []string{"fix the field's name"}}, "skaffold.yaml")),
				one(iteration(3, pb.Status_IN_PROGRESS, "web/index.html")),
				built("web", "sha256:web-2"),
				deployed,
				one(iteration(3, pb.Status_SUCCEEDED, "web/index.html")),
			),
			wantLoads:  1,
			wantDeploy: 1,
		},
		{
			name:  "a watch error is reported and watching goes on",
			steps: []step{{err: errors.New("fsnotify: queue or buffer overflow")}, {files: []string{"app/main.go"}}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS)),
				one(failedIteration(2, &pb.Error{Code: "DEV_WATCH_FAILED",
					Message: "watching the project's files: fsnotify: queue or buffer overflow",
					Suggestions: []string{"a change made then may have been missed: save the file again",
						"raise fs.inotify.max_user_watches (sysctl) when there are too many folders to watch"}})),
				one(iteration(3, pb.Status_IN_PROGRESS, "app/main.go")),
				built("app", "sha256:app-2"),
				deployed,
				one(iteration(3, pb.Status_SUCCEEDED, "app/main.go")),
			),
			wantDeploy: 1,
		},
		{
			name: "a failed build does not end the loop",
			steps: []step{
				{change: func(t *testing.T, dir string) { write(t, dir, "app/BROKEN") }, files: []string{"app/BROKEN"}},
				{change: func(t *testing.T, dir string) { remove(t, dir, "app/BROKEN") }, files: []string{"app/BROKEN"}},
			},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "app/BROKEN")),
				one(buildEvent(&pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS})),
				one(buildEvent(&pb.BuildEvent{Image: "app", Status: pb.Status_FAILED,
					Error: &pb.Error{Code: "BUILD_CUSTOM_COMMAND_FAILED", Message: "the build command failed"}})),
				// A build's failure is in its own event, not repeated here.
				one(iteration(2, pb.Status_FAILED, "app/BROKEN")),
				one(iteration(3, pb.Status_IN_PROGRESS, "app/BROKEN")),
				built("app", "sha256:app-2"),
				deployed,
				one(iteration(3, pb.Status_SUCCEEDED, "app/BROKEN")),
			),
			wantDeploy: 1,
		},
		{
			name:   "with auto-build off, changes wait for Execute",
			manual: true,
			steps:  []step{{files: []string{"app/main.go"}}, {files: []string{"web/index.html"}}, {execute: true}},
			want: concat(
				one(iteration(2, pb.Status_IN_PROGRESS, "app/main.go", "web/index.html")),
				built("app", "sha256:app-2"), built("web", "sha256:web-2"),
				one(iteration(2, pb.Status_SUCCEEDED, "app/main.go", "web/index.html")),
			),
		},
		{
			name:    "cleanup deletes what was deployed",
			cleanup: true,
			want:    deployed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := project(t)
			load := func() (*config.Config, error) { return tc.load(cfg) }
			opts := runner.DevOptions{Cleanup: tc.cleanup, AutoBuild: !tc.manual, AutoDeploy: !tc.manual}
			r, stop := startDev(t, cfg, opts, load)
			r.watcher.wait(t)
			roots := len(r.watcher.roots)
			for i, s := range tc.steps {
				if s.change != nil {
					s.change(t, cfg.Dir)
				}
				switch {
				case s.execute:
					if got := r.dev.Execute(true, false); got != 2 {
						t.Errorf("Execute returned iteration %d, want 2", got)
					}
				default:
					var files []string
					for _, f := range s.files {
						files = append(files, filepath.Join(cfg.Dir, f))
					}
					select {
					case r.watcher.batches <- batch{files: files, err: s.err}:
					case <-time.After(10 * time.Second):
						t.Fatalf("step %d: the dev loop did not take the changes", i)
					}
				}
				r.watcher.wait(t)
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v", err)
			}
			if diff := diffEvents(concat(firstIteration, tc.want), sortBuilds(published(t, r.bus))); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if r.loads != tc.wantLoads {
				t.Errorf("config read %d times, want %d", r.loads, tc.wantLoads)
			}
			var gotRoots []string
			for _, root := range r.watcher.roots[roots:] {
				gotRoots = append(gotRoots, cfg.Rel(root))
			}
			if diff := cmp.Diff(tc.wantRoots, gotRoots); diff != "" {
				t.Errorf("folders watched after the first iteration (-want +got):\n%s", diff)
			}
			if got := len(r.deployer.deployed) - 1; got != tc.wantDeploy {
				t.Errorf("deployed %d times after the first iteration, want %d", got, tc.wantDeploy)
			}
			for i, q := range r.watcher.quiet {
				if q != debounce {
					t.Errorf("call %d of Next waited for %v of quiet, want the debounce %v", i, q, debounce)
				}
			}
		})
	}
}

func TestDevWatchStart(t *testing.T) {
	cfg := project(t)
	bus := testutil.NewBus(t)
	var roots []string
	d := runner.NewDev(runner.DevOptions{Bus: bus, Cfg: cfg, Watch: func(r []string) (runner.Watcher, error) {
		roots = r
		return nil, errors.New("no space left on device")
	}})
	err := d.Run(t.Context())
	if got := fault.CodeOf(err); got != fault.DevWatchFailed {
		t.Errorf("Run returned %v (code %s), want %s", err, got, fault.DevWatchFailed)
	}
	want := []string{cfg.Dir, cfg.Dir, filepath.Join(cfg.Dir, "shared"), filepath.Join(cfg.Dir, "app"), filepath.Join(cfg.Dir, "web")}
	if diff := cmp.Diff(want, roots); diff != "" {
		t.Errorf("folders to watch (-want +got):\n%s", diff)
	}
	if n := bus.Last(); n != 0 {
		t.Errorf("%d events published before watching started", n)
	}
}

func write(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, rel)); err != nil {
		t.Fatal(err)
	}
}

// The Swap methods report whether they changed a trigger, for Skaffold's
// ALREADY_EXISTS, and AutoTriggers reads them back.
func TestDevSwapAutoTriggers(t *testing.T) {
	d := runner.NewDev(runner.DevOptions{AutoBuild: true, AutoDeploy: false, AutoSync: true})
	type triggers struct{ Build, Deploy, Sync bool }
	read := func() triggers {
		b, dep, s := d.AutoTriggers()
		return triggers{b, dep, s}
	}
	for _, tc := range []struct {
		name        string
		swap        func(bool) bool
		on          bool
		wantChanged bool
		want        triggers
	}{
		{"build already on", d.SwapAutoBuild, true, false, triggers{true, false, true}},
		{"build off", d.SwapAutoBuild, false, true, triggers{false, false, true}},
		{"deploy already off", d.SwapAutoDeploy, false, false, triggers{false, false, true}},
		{"deploy on", d.SwapAutoDeploy, true, true, triggers{false, true, true}},
		{"sync off", d.SwapAutoSync, false, true, triggers{false, true, false}},
		{"sync already off", d.SwapAutoSync, false, false, triggers{false, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.swap(tc.on); got != tc.wantChanged {
				t.Errorf("changed = %v, want %v", got, tc.wantChanged)
			}
			if diff := cmp.Diff(tc.want, read()); diff != "" {
				t.Errorf("triggers (-want +got):\n%s", diff)
			}
		})
	}
}
