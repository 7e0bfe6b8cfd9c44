package kubectl

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/hooks"
)

// owner returns the render hooks of the config that a source of manifests
// is of: the first whose own sources it is in, or nil.
func (d *Deployer) owner(of func(*config.RenderHooks) bool) *config.RenderHooks {
	for _, h := range d.RenderHooks {
		if of(h) {
			return h
		}
	}
	return nil
}

// owned marks objs as the manifests of the config of the render hooks h.
func owned(objs []manifest, h *config.RenderHooks) []manifest {
	for i := range objs {
		objs[i].owner = h
	}
	return objs
}

func (d *Deployer) hookRunner(phase string) hooks.Runner {
	return hooks.Runner{Phase: phase, Dir: d.Dir, Env: d.HookEnv, Code: fault.DeployHookFailed, Line: hooks.Printer(d.HookOut, phase)}
}

// preRender runs the before hooks of every config, in the configs' order.
func (d *Deployer) preRender(ctx context.Context) error {
	r := d.hookRunner("pre-render")
	for _, h := range d.RenderHooks {
		for i, rh := range h.Before {
			// Validated when the config loaded: every render hook is a
			// host hook.
			if rh.Host == nil {
				continue
			}
			if _, err := r.Hook(ctx, i+1, *rh.Host, hooks.IO{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// postRender runs each config's after hooks on the objects of its own
// manifests, as Skaffold does; a config without objects has its hooks
// skipped, as in Skaffold. The objects of a config whose hooks change them
// take the place of its first object among the others.
func (d *Deployer) postRender(ctx context.Context, objs []manifest) ([]manifest, error) {
	for _, h := range d.RenderHooks {
		if len(h.After) == 0 {
			continue
		}
		at := -1
		var own, rest []manifest
		for _, m := range objs {
			if m.owner != h {
				rest = append(rest, m)
				continue
			}
			if at < 0 {
				at = len(rest)
			}
			own = append(own, m)
		}
		if at < 0 {
			continue
		}
		changed, err := d.after(ctx, h, own)
		if err != nil {
			return nil, err
		}
		objs = slices.Concat(rest[:at], changed, rest[at:])
	}
	return objs, nil
}

// after runs the after hooks of h in order, each given the objects, as a
// stream of YAML documents, on its standard input. The standard output
// of a hook withChange replaces the objects for the hooks after it and
// for the deploy; the output of the others is shown.
func (d *Deployer) after(ctx context.Context, h *config.RenderHooks, objs []manifest) ([]manifest, error) {
	data, err := encode(objs)
	if err != nil {
		return nil, err
	}
	r := d.hookRunner("post-render")
	for i, rh := range h.After {
		if rh.Host == nil {
			continue
		}
		stdio := hooks.IO{In: bytes.NewReader(data)}
		var out bytes.Buffer
		if rh.Host.WithChange {
			stdio.Out = &out
		}
		ran, err := r.Hook(ctx, i+1, rh.Host.HostHook, stdio)
		if err != nil {
			return nil, err
		}
		if !ran || !rh.Host.WithChange {
			continue
		}
		name := fmt.Sprintf("post-render hook %d (%s)", i+1, strings.Join(rh.Host.Command, " "))
		changed, err := parseManifests(fmt.Sprintf("the output of post-render hook %d", i+1), out.Bytes())
		if err != nil {
			return nil, fault.Wrap(err, fault.DeployHookFailed, name+" printed what is not Kubernetes objects",
				"with withChange: true the hook's standard output replaces the manifests: print only YAML objects there, and messages on standard error")
		}
		if len(changed) == 0 {
			return nil, fault.New(fault.DeployHookFailed, name+" printed no manifests",
				"with withChange: true the hook's standard output replaces the manifests: print them there, changed, or drop withChange")
		}
		objs, data = owned(changed, h), out.Bytes()
	}
	return objs, nil
}
