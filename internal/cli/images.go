package cli

import (
	"context"
	"sync"

	"github.com/docker/docker/client"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	"github.com/hoist-dev/hoist/internal/build/registry"
	"github.com/hoist-dev/hoist/internal/runner"
)

// images finds and reuses built images in registries and in the local
// Docker engine, connecting to the engine only when needed.
type images struct {
	once   sync.Once
	docker *client.Client
	err    error
}

var _ runner.Reuser = (*images)(nil)

func (im *images) client() (*client.Client, error) {
	im.once.Do(func() { im.docker, im.err = daemon.Connect() })
	return im.docker, im.err
}

// Remote returns the registry's manifest digest of ref.
func (im *images) Remote(ctx context.Context, ref string) (string, error) {
	return registry.Digest(ctx, ref)
}

// Local returns the local image id of ref.
func (im *images) Local(ctx context.Context, ref string) (string, error) {
	c, err := im.client()
	if err != nil {
		return "", err
	}
	return daemon.ImageID(ctx, c, ref)
}

// Reuse implements runner.Reuser: a pushed image is reused when the
// registry still has its manifest, a local one when the engine still has
// its id; either is then tagged as ref.
func (im *images) Reuse(ctx context.Context, prev build.Result, ref string) (build.Result, bool, error) {
	if prev.Pushed {
		if d, err := registry.Digest(ctx, ref); err == nil && d == prev.Digest {
			return build.Result{Tag: ref, Digest: d, Pushed: true}, true, nil
		}
		src := build.Repository(prev.Tag) + "@" + prev.Digest
		d, err := registry.Copy(ctx, src, ref)
		if err != nil {
			return build.Result{}, false, err
		}
		return build.Result{Tag: ref, Digest: d, Pushed: true}, true, nil
	}
	c, err := im.client()
	if err != nil {
		return build.Result{}, false, err
	}
	if _, err := c.ImageInspect(ctx, prev.Digest); err != nil {
		return build.Result{}, false, nil
	}
	if err := c.ImageTag(ctx, prev.Digest, ref); err != nil {
		return build.Result{}, false, err
	}
	return build.Result{Tag: ref, Digest: prev.Digest}, true, nil
}
