package runner

import (
	"context"
	"errors"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/filesync"
)

// syncs are the dirty artifacts that can be synced rather than rebuilt,
// with what to copy: with auto-sync on (or now asked for), an artifact that has sync rules,
// whose containers run its last build, that no other artifact requires,
// and whose every changed input its rules map into the container.
func (d *Dev) syncs(st *devState, asked bool) map[string]*filesync.Item {
	if (!d.autoSync.Load() && !asked) || st.deployer == nil || !st.deployer.CanSync() {
		return nil
	}
	required := map[string]bool{}
	for _, a := range st.cfg.Build.Artifacts {
		for _, r := range a.Requires {
			required[r.Image] = true
		}
	}
	var out map[string]*filesync.Item
	for _, a := range st.cfg.Build.Artifacts {
		name := a.ImageName
		if !st.dirty[name] || st.rebuild[name] || !filesync.Enabled(a) || required[name] {
			continue
		}
		if running, ok := st.running[name]; !ok || running != st.results[name] {
			continue
		}
		it, err := filesync.Plan(a, st.inputs[name])
		if err != nil {
			d.opts.Log.Debug("rebuilding instead of syncing", "image", name, "why", err)
			continue
		}
		if out == nil {
			out = map[string]*filesync.Item{}
		}
		out[name] = it
	}
	return out
}

// warnAutoSync says once per config which artifacts set sync.auto, which
// syncs nothing for the builders hoist has: their changes rebuild.
func (d *Dev) warnAutoSync(cfg *config.Config) {
	for _, a := range cfg.Build.Artifacts {
		if a.Sync != nil && a.Sync.Auto != nil && *a.Sync.Auto && !filesync.Enabled(a) {
			d.opts.Log.Warn("sync.auto is for Skaffold's jib and buildpacks builders: changes to this artifact rebuild it; use sync.manual or sync.infer to sync",
				"image", a.ImageName)
		}
	}
}

// syncAll syncs each artifact of syncs, in the config's order. One that
// syncs is no longer dirty; one that fails is to be rebuilt, and its error
// is returned with the others'.
func (d *Dev) syncAll(ctx context.Context, st *devState, syncs map[string]*filesync.Item) error {
	var errs []error
	for _, a := range st.cfg.Build.Artifacts {
		it := syncs[a.ImageName]
		if it == nil {
			continue
		}
		if err := d.sync(ctx, st, a.ImageName, it); err != nil {
			st.rebuild[a.ImageName] = true
			errs = append(errs, err)
			continue
		}
		delete(st.dirty, a.ImageName)
		delete(st.inputs, a.ImageName)
		// A new file is an input now, so that deleting it is a change.
		if st.deps == nil {
			st.deps = map[string]map[string]bool{}
		}
		if st.deps[a.ImageName] == nil {
			st.deps[a.ImageName] = map[string]bool{}
		}
		for f := range it.Copy {
			st.deps[a.ImageName][f] = true
		}
	}
	return errors.Join(errs...)
}

// sync copies one artifact's changes into its running containers,
// reported as fileSyncEvents.
func (d *Dev) sync(ctx context.Context, st *devState, image string, it *filesync.Item) error {
	n := uint32(it.Files())
	d.syncEvent(&pb.FileSyncEvent{Image: image, FileCount: n, Status: pb.Status_IN_PROGRESS})
	targets, err := st.deployer.Sync(ctx, image, st.running[image], it)
	e := &pb.FileSyncEvent{Image: image, FileCount: n, Status: pb.Status_SUCCEEDED}
	switch {
	case err == nil:
		d.opts.Log.Info("synced", "image", image, "files", n, "containers", len(targets))
	case ctx.Err() != nil:
		err = fault.Wrap(context.Cause(ctx), fault.Canceled, "sync canceled")
		e.Status, e.Error = pb.Status_CANCELED, ErrorOf(err)
	default:
		e.Status, e.Error = pb.Status_FAILED, ErrorOf(err)
		d.opts.Log.Warn("sync failed; rebuilding", "image", image, "err", err)
	}
	d.syncEvent(e)
	return err
}

func (d *Dev) syncEvent(e *pb.FileSyncEvent) {
	d.opts.Bus.Publish(&pb.Event{Payload: &pb.Event_FileSyncEvent{FileSyncEvent: e}})
}
