package runner

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/filesync"
	"github.com/hoist-dev/hoist/internal/watch"
)

// Dev is the dev loop: a first iteration like hoist run, then one iteration
// per burst of changes to the artifacts' inputs, the manifests or the
// config, rebuilding only what changed and redeploying when a manifest or
// an image did. An artifact whose changed files all match its sync rules
// has them copied into its running containers instead (a fileSyncEvent),
// and is rebuilt when that fails. A failed iteration does not end the
// loop, nor does an error while watching, which is reported as a failed
// iteration of its own. Build one with NewDev: its control methods
// (Execute, AutoBuild, AutoDeploy, AutoSync) may be called before Run
// starts.
type Dev struct {
	opts DevOptions

	autoBuild, autoDeploy, autoSync atomic.Bool
	mu                              sync.Mutex
	intent                          intent
	poke                            chan struct{}
	iteration                       atomic.Uint32
}

// DevOptions are what a dev loop needs.
type DevOptions struct {
	Bus *event.Bus
	Cfg *config.Config
	// Load reads the config again after it changed.
	Load func() (*config.Config, error)
	// Build builds some artifacts of a config.
	Build func(ctx context.Context, cfg *config.Config, artifacts []*config.Artifact) ([]build.Result, error)
	// Test runs the tests of built images again, after a change to what
	// the tests read (test[].custom[].dependencies); nil runs none.
	Test func(ctx context.Context, cfg *config.Config, results []build.Result) error
	// Deployer returns the deploy phase of a config.
	Deployer func(ctx context.Context, cfg *config.Config) (*Deploys, error)
	// Debounce is how long changes must be quiet before an iteration.
	Debounce time.Duration
	// Cleanup deletes what was deployed when the loop ends.
	Cleanup bool
	// AutoBuild builds when inputs change; AutoDeploy deploys after each
	// build. When off, only Execute does. AutoSync syncs changed files that
	// an artifact's sync rules match into its running containers instead
	// of rebuilding it; when off, they rebuild.
	AutoBuild, AutoDeploy, AutoSync bool
	// DeployInputs are the files the deploy reads besides the manifests'
	// globs (a kustomization's); a change to one redeploys. Nil is none.
	DeployInputs func(cfg *config.Config) []string
	// Watch starts watching folder trees; nil is watch.New.
	Watch func(roots []string) (Watcher, error)
	Log   *slog.Logger
}

// Watcher reports changed files; *watch.Watcher is the one hoist uses.
type Watcher interface {
	// Next returns the files changed once they have been quiet for quiet,
	// or early when poke is signalled. An error that is not ctx's tells
	// what went wrong while watching; watching goes on.
	Next(ctx context.Context, quiet time.Duration, poke <-chan struct{}) ([]string, error)
	// Add watches another folder tree.
	Add(root string) error
	Close() error
}

var _ Watcher = (*watch.Watcher)(nil)

type intent struct{ build, deploy, sync bool }

// NewDev returns a dev loop; Run runs it.
func NewDev(o DevOptions) *Dev {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Watch == nil {
		o.Watch = func(roots []string) (Watcher, error) { return watch.New(roots) }
	}
	d := &Dev{opts: o, poke: make(chan struct{}, 1)}
	d.autoBuild.Store(o.AutoBuild)
	d.autoDeploy.Store(o.AutoDeploy)
	d.autoSync.Store(o.AutoSync)
	return d
}

// AutoBuild turns building on changes on or off and returns the new value.
func (d *Dev) AutoBuild(on bool) bool {
	d.autoBuild.Store(on)
	d.wake()
	return on
}

// AutoDeploy turns deploying after builds on or off.
func (d *Dev) AutoDeploy(on bool) bool {
	d.autoDeploy.Store(on)
	d.wake()
	return on
}

// AutoSync turns syncing changed files into running containers on or off;
// when off, the changes rebuild.
func (d *Dev) AutoSync(on bool) bool {
	d.autoSync.Store(on)
	d.wake()
	return on
}

// SwapAutoBuild turns building on changes on or off, as AutoBuild does,
// and reports whether that changed anything: Skaffold's API answers a
// request for the state a trigger is already in with ALREADY_EXISTS.
func (d *Dev) SwapAutoBuild(on bool) (changed bool) { return d.swap(&d.autoBuild, on) }

// SwapAutoDeploy is SwapAutoBuild for AutoDeploy.
func (d *Dev) SwapAutoDeploy(on bool) (changed bool) { return d.swap(&d.autoDeploy, on) }

// SwapAutoSync is SwapAutoBuild for AutoSync.
func (d *Dev) SwapAutoSync(on bool) (changed bool) { return d.swap(&d.autoSync, on) }

func (d *Dev) swap(flag *atomic.Bool, on bool) bool {
	if flag.Swap(on) == on {
		return false
	}
	d.wake()
	return true
}

// AutoTriggers returns whether the loop builds, deploys and syncs by
// itself now.
func (d *Dev) AutoTriggers() (build, deploy, sync bool) {
	return d.autoBuild.Load(), d.autoDeploy.Load(), d.autoSync.Load()
}

// Execute asks for a build and/or a deploy now, and returns the number of
// the next iteration, which does it unless a failure to watch or to read
// the changed config is reported first.
func (d *Dev) Execute(b, dep bool) uint32 {
	d.mu.Lock()
	// Read before the loop can take the intent and start that iteration.
	next := d.iteration.Load() + 1
	d.intent.build = d.intent.build || b
	d.intent.deploy = d.intent.deploy || dep
	d.mu.Unlock()
	d.wake()
	return next
}

// Sync asks for the pending syncs now, even with auto-sync off: the
// artifacts whose changed files their sync rules all match, which with
// auto-sync and auto-build off wait for it (or for a build). It returns
// the number of the next iteration, which does it if any file is pending.
func (d *Dev) Sync() uint32 {
	d.mu.Lock()
	// Read before the loop can take the intent and start that iteration.
	next := d.iteration.Load() + 1
	d.intent.sync = true
	d.mu.Unlock()
	d.wake()
	return next
}

func (d *Dev) wake() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

func (d *Dev) takeIntent() intent {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.intent
	d.intent = intent{}
	return i
}

// devState is what the loop knows between iterations.
type devState struct {
	cfg       *config.Config
	results   map[string]build.Result
	dirty     map[string]bool // artifacts to build (or sync)
	retest    map[string]bool // built artifacts whose tests' inputs changed
	deployDue bool
	deps      map[string]map[string]bool // artifact -> absolute input paths the last build (or sync) saw
	changed   []string                   // changed files no iteration has reported yet
	deployer  *Deploys
	// inputs are each dirty artifact's changed inputs since its last
	// build or sync; rebuild are the dirty artifacts that must be built
	// whatever changed (never built, config reloaded, sync failed).
	inputs  map[string][]string
	rebuild map[string]bool
	// running is the build each artifact's deployed containers run.
	running map[string]build.Result
}

// Run runs the loop until ctx is done, then cleans up. Stopping by the user
// is not an error; failing to start watching, or to clean up, is.
func (d *Dev) Run(ctx context.Context) error {
	st := &devState{cfg: d.opts.Cfg, results: map[string]build.Result{}, dirty: map[string]bool{}, retest: map[string]bool{}, deployDue: true,
		inputs: map[string][]string{}, rebuild: map[string]bool{}, running: map[string]build.Result{}}
	for _, a := range st.cfg.Build.Artifacts {
		st.dirty[a.ImageName] = true
		st.rebuild[a.ImageName] = true
	}
	d.warnAutoSync(st.cfg)
	w, err := d.opts.Watch(d.roots(st.cfg))
	if err != nil {
		return fault.Wrap(err, fault.DevWatchFailed, "watching the project's files", watchSuggestion)
	}
	defer func() {
		if err := w.Close(); err != nil {
			d.opts.Log.Warn("closing the file watcher", "err", err)
		}
	}()
	first := true
	for {
		in := d.takeIntent()
		// Whether to deploy is decided after the build: a new image is a
		// reason to deploy.
		allowDeploy := first || d.autoDeploy.Load() || in.deploy
		wantBuild := (len(st.dirty) > 0 || len(st.retest) > 0) && (first || d.autoBuild.Load() || in.build)
		wantDeploy := st.deployDue && st.cfg.Deployer() != "" && allowDeploy
		syncs := d.syncs(st, in.sync)
		if wantBuild || wantDeploy || len(syncs) > 0 || in.build || in.deploy {
			d.iterate(ctx, st, syncs, wantBuild || in.build, allowDeploy)
			first = false
		}
		if ctx.Err() != nil {
			break
		}
		files, err := w.Next(ctx, d.opts.Debounce, d.poke)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			d.watchFailed(err)
			continue
		}
		if reload := d.classify(st, files); reload {
			d.reload(st, w)
		}
	}
	if d.opts.Cleanup && st.deployer != nil {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := st.deployer.Delete(cleanup); err != nil {
			return fault.Wrap(err, fault.DeployDeleteFailed, "cleaning up what hoist dev deployed",
				"delete it with hoist delete")
		}
	}
	return nil
}

// iterate runs one iteration: syncs, builds the dirty artifacts, then
// deploys.
func (d *Dev) iterate(ctx context.Context, st *devState, syncs map[string]*filesync.Item, doBuild, doDeploy bool) {
	n := d.iteration.Add(1)
	changed := st.changed
	st.changed = nil
	d.devEvent(&pb.DevLoopEvent{Iteration: n, Status: pb.Status_IN_PROGRESS, ChangedFiles: changed})
	err := d.work(ctx, st, syncs, doBuild, doDeploy)
	e := &pb.DevLoopEvent{Iteration: n, Status: pb.Status_SUCCEEDED, ChangedFiles: changed}
	switch {
	case ctx.Err() != nil:
		e.Status = pb.Status_CANCELED
	case err != nil:
		e.Status = pb.Status_FAILED
		if fault.CodeOf(err) == fault.ConfigInvalid || fault.CodeOf(err) == fault.ConfigUnsupport {
			e.Error = ErrorOf(err)
		}
	}
	d.devEvent(e)
}

func (d *Dev) devEvent(e *pb.DevLoopEvent) {
	d.opts.Bus.Publish(&pb.Event{Payload: &pb.Event_DevLoopEvent{DevLoopEvent: e}})
}

func (d *Dev) work(ctx context.Context, st *devState, syncs map[string]*filesync.Item, doBuild, doDeploy bool) error {
	if err := d.syncAll(ctx, st, syncs); err != nil && (!doBuild || ctx.Err() != nil) {
		// Nothing rebuilds what did not sync.
		return err
	}
	if doBuild && len(st.dirty) > 0 {
		var todo []*config.Artifact
		for _, a := range st.cfg.Build.Artifacts {
			if st.dirty[a.ImageName] {
				todo = append(todo, a)
			}
		}
		// Listed before the build, so that removing a file that made it
		// fail is a change too.
		st.deps = dependencies(st.cfg)
		results, err := d.opts.Build(ctx, st.cfg, todo)
		if err != nil {
			return err
		}
		for _, r := range results {
			if prev, ok := st.results[r.ImageName]; !ok || prev.Tag != r.Tag || prev.Digest != r.Digest {
				st.deployDue = true
			}
			st.results[r.ImageName] = r
			delete(st.dirty, r.ImageName)
			delete(st.rebuild, r.ImageName)
			delete(st.inputs, r.ImageName)
			// The build ran its tests.
			delete(st.retest, r.ImageName)
		}
	}
	if doBuild && len(st.retest) > 0 && d.opts.Test != nil {
		var again []build.Result
		for _, a := range st.cfg.Build.Artifacts {
			if r, ok := st.results[a.ImageName]; ok && st.retest[a.ImageName] {
				again = append(again, r)
			}
		}
		clear(st.retest)
		if err := d.opts.Test(ctx, st.cfg, again); err != nil {
			return err
		}
	}
	if !doDeploy || !st.deployDue || st.cfg.Deployer() == "" || len(st.dirty) > 0 {
		return nil
	}
	if st.deployer == nil {
		dep, err := d.opts.Deployer(ctx, st.cfg)
		if err != nil {
			return err
		}
		st.deployer = dep
	}
	results := make([]build.Result, 0, len(st.results))
	for _, a := range st.cfg.Build.Artifacts {
		if r, ok := st.results[a.ImageName]; ok {
			results = append(results, r)
		}
	}
	if err := st.deployer.Run(ctx, results); err != nil {
		return err
	}
	st.deployDue = false
	for _, r := range results {
		st.running[r.ImageName] = r
	}
	return nil
}

// classify marks what the changed files affect, and reports whether the
// config itself changed.
func (d *Dev) classify(st *devState, files []string) (reload bool) {
	// The inputs as they are now, listed once for the whole burst: a new
	// file may be an input the last build did not see.
	current := dependencies(st.cfg)
	testInputs := map[string][]string{}
	for _, tc := range st.cfg.Test {
		// A test whose inputs cannot be listed is run with the next build.
		files, _ := build.TestDependencies(tc)
		testInputs[tc.Image] = append(testInputs[tc.Image], files...)
	}
	deployInputs := d.deployInputs(st.cfg)
	for _, f := range files {
		rel := st.cfg.Rel(f)
		hit := false
		if slices.Contains(st.cfg.Files, f) || f == st.cfg.File {
			reload, hit = true, true
		}
		if st.cfg.Deploy.Kubectl != nil {
			for _, g := range st.cfg.Deploy.Kubectl.Manifests {
				if !filepath.IsAbs(g) {
					g = filepath.Join(st.cfg.Dir, g)
				}
				if ok, _ := filepath.Match(g, f); ok {
					st.deployDue, hit = true, true
				}
			}
		}
		if slices.Contains(deployInputs, f) {
			st.deployDue, hit = true, true
		}
		for _, a := range st.cfg.Build.Artifacts {
			if st.deps[a.ImageName][f] || isInput(a, current[a.ImageName], f) {
				st.dirty[a.ImageName], hit = true, true
				if !slices.Contains(st.inputs[a.ImageName], f) {
					st.inputs[a.ImageName] = append(st.inputs[a.ImageName], f)
				}
			}
		}
		for image, files := range testInputs {
			if slices.Contains(files, f) {
				st.retest[image], hit = true, true
			}
		}
		if hit && !slices.Contains(st.changed, rel) {
			st.changed = append(st.changed, rel)
		}
	}
	return reload
}

// isInput tells whether f is an input of a, given a's inputs now. When they
// could not be listed (a broken context or Dockerfile), any file in the
// context counts, and the build says what is wrong.
func isInput(a *config.Artifact, deps map[string]bool, f string) bool {
	if deps == nil {
		rel, err := filepath.Rel(a.Context, f)
		return err == nil && filepath.IsLocal(rel)
	}
	return deps[f]
}

// dependencies lists every artifact's inputs as absolute paths, so that a
// deleted input is still recognised. An artifact whose inputs cannot be
// listed has none in the result.
func dependencies(cfg *config.Config) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, a := range cfg.Build.Artifacts {
		deps, err := build.Dependencies(a)
		if err != nil {
			continue
		}
		set := make(map[string]bool, len(deps))
		for _, d := range deps {
			set[filepath.Join(a.Context, filepath.FromSlash(d))] = true
		}
		out[a.ImageName] = set
	}
	return out
}

// reload reads the changed config; on error it reports and keeps the old.
func (d *Dev) reload(st *devState, w Watcher) {
	cfg, err := d.opts.Load()
	if err != nil {
		changed := st.changed
		st.changed = nil
		d.failedIteration(changed, err)
		d.opts.Log.Warn("the changed config is invalid; keeping the previous one", "err", err)
		return
	}
	st.cfg = cfg
	d.warnAutoSync(cfg)
	st.deployer = nil
	st.deployDue = true
	clear(st.running)
	for _, a := range cfg.Build.Artifacts {
		st.dirty[a.ImageName] = true
		st.rebuild[a.ImageName] = true
	}
	for _, r := range d.roots(cfg) {
		if err := w.Add(r); err != nil {
			d.watchFailed(err)
		}
	}
}

const watchSuggestion = "raise fs.inotify.max_user_watches (sysctl) when there are too many folders to watch"

// watchFailed reports what went wrong while watching as a failed
// iteration of its own; the loop goes on watching.
func (d *Dev) watchFailed(err error) {
	d.failedIteration(nil, fault.Wrap(err, fault.DevWatchFailed, "watching the project's files",
		"a change made then may have been missed: save the file again", watchSuggestion))
	d.opts.Log.Warn("watching the project's files", "err", err)
}

// failedIteration reports an iteration that failed before it could build
// or deploy; changed are the files that started it.
func (d *Dev) failedIteration(changed []string, err error) {
	n := d.iteration.Add(1)
	d.devEvent(&pb.DevLoopEvent{Iteration: n, Status: pb.Status_IN_PROGRESS, ChangedFiles: changed})
	d.devEvent(&pb.DevLoopEvent{Iteration: n, Status: pb.Status_FAILED, ChangedFiles: changed, Error: ErrorOf(err)})
}

// roots are the folders a config's inputs live in.
func (d *Dev) roots(cfg *config.Config) []string {
	out := []string{cfg.Dir}
	for _, f := range d.deployInputs(cfg) {
		out = append(out, filepath.Dir(f))
	}
	for _, f := range cfg.Files {
		out = append(out, filepath.Dir(f))
	}
	for _, a := range cfg.Build.Artifacts {
		out = append(out, a.Context)
		if a.Docker != nil {
			out = append(out, filepath.Dir(build.DockerfilePath(a)))
		}
	}
	return out
}

func (d *Dev) deployInputs(cfg *config.Config) []string {
	if d.opts.DeployInputs == nil {
		return nil
	}
	return d.opts.DeployInputs(cfg)
}
