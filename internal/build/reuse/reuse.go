// Package reuse finds built images again, in registries and in the local
// Docker engine: the digest a custom build made, and whether an earlier
// build's image still exists so that it can be tagged instead of rebuilt.
// It connects to the engine only when it needs to, once.
package reuse

import (
	"context"
	"io"
	"sync"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	"github.com/hoist-dev/hoist/internal/build/registry"
)

// Images finds and reuses images. Its zero value is ready to use.
type Images struct {
	// Insecure are the registries reached over plain HTTP.
	Insecure registry.Insecure
	// TryImportMissing pulls a cached local image that the engine no
	// longer has from the registry of its tag, when it is there
	// (build.local.tryImportMissing).
	TryImportMissing bool

	once   sync.Once
	docker *client.Client
	err    error
}

// Client returns the Docker engine's client, connecting on first use.
func (im *Images) Client() (*client.Client, error) {
	im.once.Do(func() { im.docker, im.err = daemon.Connect() })
	return im.docker, im.err
}

// Remote returns the registry's manifest digest of ref.
func (im *Images) Remote(ctx context.Context, ref string) (string, error) {
	return im.Insecure.Digest(ctx, ref)
}

// Local returns the local image id of ref.
func (im *Images) Local(ctx context.Context, ref string) (string, error) {
	c, err := im.Client()
	if err != nil {
		return "", err
	}
	return daemon.ImageID(ctx, c, ref)
}

// Reuse makes prev's image available as ref, and reports whether it could:
// a pushed image is reused when the registry still has its manifest, a
// local one when the engine still has its id.
func (im *Images) Reuse(ctx context.Context, prev build.Result, ref string) (build.Result, bool, error) {
	if prev.Pushed {
		if d, err := im.Insecure.Digest(ctx, ref); err == nil && d == prev.Digest {
			return build.Result{Tag: ref, Digest: d, Pushed: true}, true, nil
		}
		src := build.Repository(prev.Tag) + "@" + prev.Digest
		d, err := im.Insecure.Copy(ctx, src, ref)
		if err != nil {
			return build.Result{}, false, err
		}
		return build.Result{Tag: ref, Digest: d, Pushed: true}, true, nil
	}
	c, err := im.Client()
	if err != nil {
		return build.Result{}, false, err
	}
	if _, err := c.ImageInspect(ctx, prev.Digest); err != nil {
		if !im.TryImportMissing || !im.pull(ctx, prev) {
			return build.Result{}, false, nil
		}
	}
	if err := c.ImageTag(ctx, prev.Digest, ref); err != nil {
		return build.Result{}, false, err
	}
	return build.Result{Tag: ref, Digest: prev.Digest}, true, nil
}

// pull fetches prev's image by its tag and reports whether the engine then
// has prev's image id.
func (im *Images) pull(ctx context.Context, prev build.Result) bool {
	c, err := im.Client()
	if err != nil {
		return false
	}
	rc, err := c.ImagePull(ctx, prev.Tag, image.PullOptions{})
	if err != nil {
		return false
	}
	// The pull's progress is read to its end; only the image id decides.
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
	_, err = c.ImageInspect(ctx, prev.Digest)
	return err == nil
}
