package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/cache"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/hooks"
)

// Builds is the build phase: it builds artifacts, several at once, and
// reports each one's progress as buildEvents.
type Builds struct {
	Bus    *event.Bus
	Tagger *tag.Tagger
	// BuilderFor returns the builder of an artifact.
	BuilderFor func(a *config.Artifact) (build.Builder, error)
	// DefaultRepo prefixes image names (--default-repo).
	DefaultRepo string
	// Tag, when set, replaces the tag policy (--tag).
	Tag string
	// Concurrency is how many artifacts build at once; 0 is all.
	Concurrency int
	// Cache, when set, lets an artifact whose inputs are unchanged and whose
	// image still exists skip its build; Reuser checks that and tags it.
	Cache  *cache.Cache
	Reuser Reuser
	// Push is whether built images are pushed; part of the cache key.
	Push bool
	// Log receives warnings about the cache; nil discards them.
	Log *slog.Logger
	// Hooks run once before the builds and once after they all succeed;
	// their output goes to HookOut. An artifact's own hooks run around its
	// build and report their output as its build log. Relative hook dirs
	// are relative to Dir.
	Hooks   *config.BuildHooks
	HookOut io.Writer
	Dir     string
}

// Reuser makes an earlier build's image available as a new reference, when
// the image still exists.
type Reuser interface {
	Reuse(ctx context.Context, prev build.Result, ref string) (build.Result, bool, error)
}

// Run builds the artifacts and returns their results in the order given.
// An artifact that requires others of the list waits for them and gets
// their references. The first failure cancels the builds still running or
// waiting for their turn; they end CANCELED, and Run returns that failure.
func (b *Builds) Run(ctx context.Context, artifacts []*config.Artifact) ([]build.Result, error) {
	if err := b.pipelineHooks(ctx, "pre-build", func(h *config.BuildHooks) []config.HostHook { return h.Before }); err != nil {
		return nil, err
	}
	results, err := b.run(ctx, artifacts)
	if err != nil {
		return nil, err
	}
	if err := b.pipelineHooks(ctx, "post-build", func(h *config.BuildHooks) []config.HostHook { return h.After }); err != nil {
		return nil, err
	}
	return results, nil
}

// pipelineHooks runs the build's own hooks of one side.
func (b *Builds) pipelineHooks(ctx context.Context, phase string, side func(*config.BuildHooks) []config.HostHook) error {
	if b.Hooks == nil || len(side(b.Hooks)) == 0 {
		return nil
	}
	return hooks.Run(ctx, phase, side(b.Hooks), b.Dir, b.hookEnv(), fault.BuildHookFailed, hooks.Printer(b.HookOut, phase))
}

func (b *Builds) hookEnv() hooks.Env {
	wd, _ := os.Getwd()
	return hooks.Env{"DEFAULT_REPO": b.DefaultRepo, "WORK_DIR": wd}
}

func (b *Builds) run(ctx context.Context, artifacts []*config.Artifact) ([]build.Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit := b.Concurrency
	if limit <= 0 || limit > len(artifacts) {
		limit = len(artifacts)
	}
	sem := make(chan struct{}, max(limit, 1))
	results := make([]build.Result, len(artifacts))
	errs := make([]error, len(artifacts))
	done := map[string]chan struct{}{}
	index := map[string]int{}
	for i, a := range artifacts {
		done[a.ImageName] = make(chan struct{})
		index[a.ImageName] = i
	}
	var wg sync.WaitGroup
	for i, a := range artifacts {
		wg.Go(func() {
			defer close(done[a.ImageName])
			// Its dependencies first, outside the semaphore, so that waiting
			// takes no build's turn.
			var refs map[string]string
			for _, r := range a.Requires {
				ch, ok := done[r.Image]
				if !ok {
					continue // not built in this run: its image is not known
				}
				select {
				case <-ch:
				case <-ctx.Done():
				}
				if res := results[index[r.Image]]; ctx.Err() == nil && errs[index[r.Image]] == nil {
					if refs == nil {
						refs = map[string]string{}
					}
					refs[r.Alias] = res.Reference()
				}
			}
			if refs != nil {
				withRefs := *a
				withRefs.DependencyRefs = refs
				a = &withRefs
			}
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				// Canceled while waiting for its turn: it does not start.
				b.publish(a.ImageName, &pb.BuildEvent{Status: pb.Status_CANCELED, Error: ErrorOf(context.Cause(ctx))})
				errs[i] = context.Cause(ctx)
				return
			}
			results[i], errs[i] = b.one(ctx, a)
			if errs[i] != nil && ctx.Err() == nil {
				cancel(fault.Wrap(errs[i], fault.Canceled,
					fmt.Sprintf("canceled because the build of %q failed", a.ImageName)))
			}
		})
	}
	wg.Wait()
	// Report the failure that caused the others to stop, not a cancellation.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) && fault.CodeOf(err) != fault.Canceled {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (b *Builds) log() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}

func (b *Builds) publish(image string, e *pb.BuildEvent) {
	e.Image = image
	b.Bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: e}})
}

// one builds a single artifact and reports it.
func (b *Builds) one(ctx context.Context, a *config.Artifact) (build.Result, error) {
	b.publish(a.ImageName, &pb.BuildEvent{Status: pb.Status_IN_PROGRESS})
	res, skipped, err := b.build(ctx, a)
	switch {
	case ctx.Err() != nil:
		err = context.Cause(ctx)
		if fault.As(err) == nil {
			err = fault.Wrap(err, fault.Canceled, fmt.Sprintf("build of %q canceled", a.ImageName))
		}
		b.publish(a.ImageName, &pb.BuildEvent{Status: pb.Status_CANCELED, Error: ErrorOf(err)})
		return build.Result{}, err
	case err != nil:
		b.publish(a.ImageName, &pb.BuildEvent{Status: pb.Status_FAILED, Error: ErrorOf(err)})
		return build.Result{}, err
	}
	status := pb.Status_SUCCEEDED
	if skipped {
		status = pb.Status_SKIPPED
	}
	b.publish(a.ImageName, &pb.BuildEvent{Status: status,
		Artifact: &pb.Artifact{ImageName: a.ImageName, Tag: res.Tag, Digest: res.Digest}})
	return res, nil
}

// build builds a, or reuses its cached image; skipped tells which.
func (b *Builds) build(ctx context.Context, a *config.Artifact) (build.Result, bool, error) {
	t := b.Tag
	if t == "" {
		var (
			note string
			err  error
		)
		if t, note, err = b.Tagger.TagWithNote(ctx, a); err != nil {
			return build.Result{}, false, err
		}
		if note != "" {
			b.log().Warn(note)
			b.publish(a.ImageName, &pb.BuildEvent{Status: pb.Status_IN_PROGRESS, Log: "warning: " + note})
		}
	}
	ref := tag.Name(a.ImageName, b.DefaultRepo) + ":" + t
	builder, err := b.BuilderFor(a)
	if err != nil {
		return build.Result{}, false, err
	}
	key := ""
	if b.Cache != nil {
		var args map[string]*string
		if a.Docker != nil {
			if args, err = tag.BuildArgs(a.Docker.BuildArgs, b.Tagger.Env); err != nil {
				return build.Result{}, false, err
			}
		}
		if key, err = cache.Key(a, args, b.Push); err != nil {
			return build.Result{}, false, err
		}
		if prev, ok := b.Cache.Get(key); ok {
			res, ok, err := b.Reuser.Reuse(ctx, prev, ref)
			if err != nil {
				b.log().Warn("the cached image could not be reused; building", "image", a.ImageName, "err", err)
			}
			if ok {
				res.ImageName = a.ImageName
				return res, true, nil
			}
		}
	}
	out := &output{b: b, image: a.ImageName}
	env := b.hookEnv()
	if a.Hooks != nil {
		env["IMAGE"], env["PUSH_IMAGE"], env["BUILD_CONTEXT"] = ref, strconv.FormatBool(b.Push), a.Context
		env["IMAGE_REPO"], env["IMAGE_TAG"] = build.Repository(ref), t
		if i := strings.LastIndex(env["IMAGE_REPO"], "/"); i >= 0 {
			env["IMAGE_REPO"] = env["IMAGE_REPO"][:i]
		} else {
			env["IMAGE_REPO"] = ""
		}
		if err := hooks.Run(ctx, "pre-build", a.Hooks.Before, b.Dir, env, fault.BuildHookFailed, func(l string) { out.Line(l, nil) }); err != nil {
			return build.Result{}, false, err
		}
	}
	res, err := builder.Build(ctx, out, a, ref)
	res.ImageName = a.ImageName
	if err == nil && a.Hooks != nil {
		if herr := hooks.Run(ctx, "post-build", a.Hooks.After, b.Dir, env, fault.BuildHookFailed, func(l string) { out.Line(l, nil) }); herr != nil {
			return build.Result{}, false, herr
		}
	}
	if err == nil && key != "" {
		if perr := b.Cache.Put(key, res); perr != nil {
			b.log().Warn("could not record the build in the artifact cache", "err", perr)
		}
	}
	return res, false, err
}

// output turns a builder's lines into buildEvents.
type output struct {
	b     *Builds
	image string
	batch []*pb.Event // Lines's, reused
}

func (o *output) Line(line string, step *build.Step) {
	// A build prints many lines: each line's event is one allocation.
	ev := &logEvent{}
	ev.set(o.image, line)
	if step != nil {
		ev.build.Step = &pb.Step{Index: uint32(step.Index), Total: uint32(step.Total), Instruction: step.Instruction}
	}
	o.b.Bus.Publish(&ev.event)
}

// Backlog lets a build print up to 1 MiB ahead of its events, instead of
// the 64 KiB of a pipe. The bus's publishers wait for the run's sinks (the
// event log file, stdout: see event.Paces), with or without history, so a
// build that prints faster than hoist publishes only runs further ahead,
// and hoist's reads of its output are full ones instead of the few lines
// printed since the last: for a build that prints 1M lines, hoist spends
// about a fifth less CPU time and the build ends about a fifth sooner.
// A subscriber of the Event API that falls behind the bus's memory reads
// its events back from disk, as it would with the smaller pipe.
func (o *output) Backlog() int { return 1 << 20 }

// Lines publishes the events of many lines at once, with one allocation
// for them all.
func (o *output) Lines(lines []string) {
	evs := make([]logEvent, len(lines))
	o.batch = o.batch[:0]
	for i, line := range lines {
		evs[i].set(o.image, line)
		o.batch = append(o.batch, &evs[i].event)
	}
	o.b.Bus.PublishAll(o.batch)
	clear(o.batch) // the reused slice must not keep the events alive
}

// logEvent is the event of one line of build output, with its payload.
type logEvent struct {
	event   pb.Event
	payload pb.Event_BuildEvent
	build   pb.BuildEvent
}

// set makes ev, a new logEvent, the event of line, printed by image's
// build. It sets only the fields that are not zero.
func (ev *logEvent) set(image, line string) {
	ev.build.Image, ev.build.Status, ev.build.Log = image, pb.Status_IN_PROGRESS, line
	ev.payload.BuildEvent = &ev.build
	ev.event.Payload = &ev.payload
}
