// Package daemon connects to the Docker engine the way the docker CLI does
// (DOCKER_HOST, or the default socket) with API version negotiation, so
// hoist works with older and newer daemons alike.
package daemon

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker/docker/client"

	"github.com/hoist-dev/hoist/internal/fault"
)

// Connect returns a client for the user's Docker engine, chosen as the
// docker CLI chooses it (DOCKER_CONTEXT, DOCKER_HOST, the current docker
// context, the default socket). It does not dial.
func Connect() (*client.Client, error) {
	ep, err := resolve()
	if err != nil {
		return nil, err
	}
	c, err := client.NewClientWithOpts(ep.options()...)
	if err != nil {
		return nil, fault.Wrap(err, fault.BuildDockerUnreachable,
			"configuring the Docker client", "check DOCKER_HOST and DOCKER_CERT_PATH")
	}
	return c, nil
}

// Unreachable returns the fault for a daemon that does not answer.
func Unreachable(c *client.Client, err error) error {
	return fault.Wrap(err, fault.BuildDockerUnreachable,
		fmt.Sprintf("cannot reach the Docker daemon at %s", c.DaemonHost()),
		"start dockerd, or point DOCKER_HOST at a running one (make testenv starts one and writes its address to the env file)")
}

// ImageID returns the local image id of ref.
func ImageID(ctx context.Context, c *client.Client, ref string) (string, error) {
	if _, err := c.Ping(ctx); err != nil {
		return "", Unreachable(c, err)
	}
	img, err := c.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fault.Wrap(err, fault.BuildImageNotFound,
				fmt.Sprintf("image %s is not in the local Docker engine", ref),
				"the build command must build $IMAGE into the local engine, or set build.local.push: true to push it")
		}
		return "", fmt.Errorf("inspecting %s: %w", ref, err)
	}
	return img.ID, nil
}
