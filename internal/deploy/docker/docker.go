// Package docker is Skaffold's docker deployer (deploy.docker): it runs
// each built image of deploy.docker.images as a container of the local
// Docker engine, on a bridge network of the run where the containers reach
// each other by image name, publishes the ports that the config's
// portForward entries of resourceType container name on 127.0.0.1,
// follows the containers' output, and waits until they run (and are
// healthy, for images with a HEALTHCHECK). Containers and networks are
// labelled with the run and with the config file they were deployed
// from, so that a redeploy replaces them and hoist delete, in another
// process, removes them.
package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
)

// The kinds of the resources the deployer reports.
const (
	containerKind = "Container"
	networkKind   = "Network"
)

// Deployer runs images as containers of a Docker engine.
type Deployer struct {
	// Client is the engine's client, such as daemon.Connect returns.
	Client *client.Client
	// Images are the artifacts to run, by image name (deploy.docker.images).
	Images []string
	// PortForward are the config's portForward entries; those of
	// resourceType container publish ports of the container of the image
	// they name.
	PortForward []*config.PortForward
	// RunID names the run's network and labels what the deployer makes.
	RunID string
	// Labels (--label) label what the deployer makes too.
	Labels map[string]string
	// Project is the ProjectID of the config file, which a later run finds
	// the containers and networks by.
	Project string
	// Logs follows the containers' output; nil follows none.
	Logs *Logs
}

var _ deploy.Deployer = (*Deployer)(nil)

// Name is "docker".
func (d *Deployer) Name() string { return "docker" }

// planned is one container to run.
type planned struct {
	image   string // the artifact's image name
	ref     string // what the container is created from
	imageID string
	exposed nat.PortSet
	ports   nat.PortMap
	spec    string
}

// Deploy runs a container of each image of d.Images, from its build in
// builds, on the run's network, which it creates the first time. A
// container of the same artifact and config from an earlier deploy is
// replaced (configured), unless it runs the same image with the same
// network and ports (unchanged); networks of earlier runs of the config
// that no container uses any more are removed. It returns the containers,
// whose status CheckStatus checks, and no manifest.
func (d *Deployer) Deploy(ctx context.Context, builds []build.Result, r deploy.Reporter) ([]deploy.Resource, []string, error) {
	if _, err := d.Client.Ping(ctx); err != nil {
		return nil, nil, daemon.Unreachable(d.Client, err)
	}
	net := NetworkName(d.RunID)
	var plans []planned
	for _, img := range d.Images {
		p, err := d.plan(ctx, img, builds, net)
		if err != nil {
			return nil, nil, err
		}
		plans = append(plans, p)
	}
	if err := d.network(ctx, net, r); err != nil {
		return nil, nil, err
	}
	existing, err := d.containers(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []deploy.Resource
	for _, p := range plans {
		res, err := d.run(ctx, p, net, existing)
		if err != nil {
			return out, nil, err
		}
		r.Applied(res)
		out = append(out, res)
	}
	if err := d.pruneNetworks(ctx, net, r); err != nil {
		return out, nil, err
	}
	return out, nil, nil
}

// plan resolves the built image of img and the container's ports.
func (d *Deployer) plan(ctx context.Context, img string, builds []build.Result, net string) (planned, error) {
	i := slices.IndexFunc(builds, func(b build.Result) bool { return b.ImageName == img })
	if i < 0 {
		return planned{}, fault.New(fault.DeployArtifactsInvalid,
			fmt.Sprintf("deploy.docker.images names %s, and no build of it was given", img),
			"build it in the same run, or pass it to hoist deploy with --images "+img+"=REFERENCE or --build-artifacts")
	}
	ref, id, err := d.image(ctx, builds[i])
	if err != nil {
		return planned{}, err
	}
	exposed, ports, err := bindings(img, portsOf(d.PortForward, img))
	if err != nil {
		return planned{}, err
	}
	p := planned{image: img, ref: ref, imageID: id, exposed: exposed, ports: ports}
	p.spec = spec(p, net, d.Labels)
	return p, nil
}

// image returns the reference a container of the build b is created
// from, and the image's id. An image built into the local engine is run
// by its id, the exact image built; a pushed one by tag@digest, pulled
// when the engine does not have it.
func (d *Deployer) image(ctx context.Context, b build.Result) (string, string, error) {
	ref := b.Tag
	switch {
	case b.Digest != "" && !b.Pushed:
		ref = b.Digest
	case b.Digest != "" && !strings.Contains(b.Tag, "@"):
		ref = b.Tag + "@" + b.Digest
	}
	inspect, err := d.Client.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) && ref != b.Digest {
		if err = d.pull(ctx, ref); err == nil {
			inspect, err = d.Client.ImageInspect(ctx, ref)
		}
	}
	switch {
	case cerrdefs.IsNotFound(err):
		return "", "", fault.Wrap(err, fault.BuildImageNotFound,
			fmt.Sprintf("image %s of %s is not in the Docker engine", ref, b.ImageName),
			"build it again: the engine may have removed it since it was built")
	case err != nil:
		return "", "", fault.Wrap(err, fault.DeployApplyFailed, fmt.Sprintf("reading image %s of %s", ref, b.ImageName),
			"check that the Docker engine answers, and that it can pull the image from its registry")
	}
	if ref == b.Digest {
		ref = inspect.ID
	}
	return ref, inspect.ID, nil
}

// pull pulls ref into the engine.
func (d *Deployer) pull(ctx context.Context, ref string) error {
	rc, err := d.Client.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }() // read only
	// The pull ends with the stream; an error in it shows in the inspect
	// that follows.
	_, err = io.Copy(io.Discard, rc)
	return err
}

// spec is a digest of what a container is made from: a container with the
// same one needs no replacing.
func spec(p planned, net string, labels map[string]string) string {
	data, _ := json.Marshal(struct {
		Image, Network string
		Ports          nat.PortMap
		Labels         map[string]string `json:",omitempty"`
	}{p.imageID, net, p.ports, labels})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// labels are the labels of what the deployer makes: --label's, and
// hoist's own, which they cannot override.
func (d *Deployer) labels() map[string]string {
	labels := deploy.Labels(d.RunID, d.Labels)
	labels[ProjectLabel], labels[DeployerLabel] = d.Project, d.Name()
	return labels
}

// network creates the run's network, unless an earlier deploy of the run
// did.
func (d *Deployer) network(ctx context.Context, name string, r deploy.Reporter) error {
	n, err := d.Client.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case err == nil && n.Labels[ProjectLabel] != d.Project:
		return fault.New(fault.DeployApplyFailed, fmt.Sprintf("the Docker engine has a network %s that hoist did not create for this config", name),
			"remove it with docker network rm "+name)
	case err == nil:
		r.Applied(deploy.Resource{Kind: networkKind, Name: name, Action: "unchanged"})
		return nil
	case !cerrdefs.IsNotFound(err):
		return fault.Wrap(err, fault.DeployApplyFailed, "inspecting network "+name, "check that the Docker engine answers")
	}
	if _, err := d.Client.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: d.labels()}); err != nil {
		return fault.Wrap(err, fault.DeployApplyFailed, "creating network "+name,
			"check that the Docker engine can create bridge networks (docker network create)")
	}
	r.Applied(deploy.Resource{Kind: networkKind, Name: name, Action: "created"})
	return nil
}

// containers lists the containers of the config that the deployer runs,
// running or not.
func (d *Deployer) containers(ctx context.Context) ([]container.Summary, error) {
	cs, err := d.Client.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", ProjectLabel+"="+d.Project), filters.Arg("label", DeployerLabel+"="+d.Name()))})
	if err != nil {
		return nil, fault.Wrap(err, fault.DeployApplyFailed, "listing the containers of earlier deploys", "check that the Docker engine answers")
	}
	return cs, nil
}

// run runs the container of p, replacing those of the same artifact in
// existing unless one runs as p would.
func (d *Deployer) run(ctx context.Context, p planned, net string, existing []container.Summary) (deploy.Resource, error) {
	action := "created"
	for _, c := range existing {
		if c.Labels[ArtifactLabel] != p.image {
			continue
		}
		if c.Labels[specLabel] == p.spec && c.State == container.StateRunning {
			name := strings.TrimPrefix(c.Names[0], "/")
			d.Logs.follow(context.WithoutCancel(ctx), d.Client, c.ID, name)
			return deploy.Resource{Kind: containerKind, Name: name, Action: "unchanged"}, nil
		}
	}
	for _, c := range existing {
		if c.Labels[ArtifactLabel] != p.image {
			continue
		}
		if err := d.Client.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return deploy.Resource{}, fault.Wrap(err, fault.DeployApplyFailed,
				fmt.Sprintf("removing container %s of an earlier deploy of %s", strings.TrimPrefix(c.Names[0], "/"), p.image),
				"remove it with docker rm -f")
		}
		action = "configured"
	}
	name, err := d.freeName(ctx, containerName(p.image))
	if err != nil {
		return deploy.Resource{}, err
	}
	labels := d.labels()
	labels[ArtifactLabel] = p.image
	labels[specLabel] = p.spec
	created, err := d.Client.ContainerCreate(ctx,
		&container.Config{Image: p.ref, Labels: labels, ExposedPorts: p.exposed},
		&container.HostConfig{NetworkMode: container.NetworkMode(net), PortBindings: p.ports},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{net: {Aliases: aliases(p.image)}}},
		nil, name)
	if err != nil {
		return deploy.Resource{}, fault.Wrap(err, fault.DeployApplyFailed, fmt.Sprintf("creating container %s of %s", name, p.image),
			"read the engine's message")
	}
	if err := d.Client.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		hint := "read the engine's message"
		if len(p.ports) > 0 {
			hint = "check that no other program listens on the container's local ports (portForward localPort)"
		}
		return deploy.Resource{}, fault.Wrap(err, fault.DeployApplyFailed, fmt.Sprintf("starting container %s of %s", name, p.image), hint)
	}
	// The containers outlive the deploy: their output is followed until
	// they stop or the run ends, not until the deploy returns.
	d.Logs.follow(context.WithoutCancel(ctx), d.Client, created.ID, name)
	return deploy.Resource{Kind: containerKind, Name: name, Action: action}, nil
}

// freeName returns name, or name-2, name-3... when a container that is not
// the config's has it.
func (d *Deployer) freeName(ctx context.Context, name string) (string, error) {
	for i := 1; ; i++ {
		try := name
		if i > 1 {
			try = fmt.Sprintf("%s-%d", name, i)
		}
		_, err := d.Client.ContainerInspect(ctx, try)
		switch {
		case cerrdefs.IsNotFound(err):
			return try, nil
		case err != nil:
			return "", fault.Wrap(err, fault.DeployApplyFailed, "inspecting container "+try, "check that the Docker engine answers")
		}
	}
}

// pruneNetworks removes the networks of earlier runs of the config that
// no container is attached to any more.
func (d *Deployer) pruneNetworks(ctx context.Context, keep string, r deploy.Reporter) error {
	nets, err := d.networks(ctx)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Name == keep {
			continue
		}
		if err := d.removeNetwork(ctx, n.Name, r); err != nil {
			return err
		}
	}
	return nil
}

// networks lists the networks of the config.
func (d *Deployer) networks(ctx context.Context) ([]network.Summary, error) {
	nets, err := d.Client.NetworkList(ctx, network.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", ProjectLabel+"="+d.Project), filters.Arg("label", DeployerLabel+"="+d.Name()))})
	if err != nil {
		return nil, fault.Wrap(err, fault.DeployApplyFailed, "listing the networks of earlier deploys", "check that the Docker engine answers")
	}
	return nets, nil
}

// removeNetwork removes the network name when no container is attached to
// it, and reports it deleted.
func (d *Deployer) removeNetwork(ctx context.Context, name string, r deploy.Reporter) error {
	n, err := d.Client.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fault.Wrap(err, fault.DeployApplyFailed, "inspecting network "+name, "check that the Docker engine answers")
	}
	if len(n.Containers) > 0 {
		return nil
	}
	if err := d.Client.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return fault.Wrap(err, fault.DeployDeleteFailed, "removing network "+name, "remove it with docker network rm "+name)
	}
	r.Applied(deploy.Resource{Kind: networkKind, Name: name, Action: "deleted"})
	return nil
}

// Delete removes the containers the deployer ran for the images of
// d.Images from this config (the file of d.Project), in any run, and
// then the config's networks that no container uses any more. It reports
// each as deleted, and returns no manifest.
func (d *Deployer) Delete(ctx context.Context, r deploy.Reporter) ([]string, error) {
	if _, err := d.Client.Ping(ctx); err != nil {
		return nil, daemon.Unreachable(d.Client, err)
	}
	cs, err := d.containers(ctx)
	if err != nil {
		return nil, err
	}
	// In the order of the images, as they were deployed.
	slices.SortStableFunc(cs, func(a, b container.Summary) int {
		return slices.Index(d.Images, a.Labels[ArtifactLabel]) - slices.Index(d.Images, b.Labels[ArtifactLabel])
	})
	for _, c := range cs {
		if !slices.Contains(d.Images, c.Labels[ArtifactLabel]) {
			continue
		}
		name := strings.TrimPrefix(c.Names[0], "/")
		if err := d.Client.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return nil, fault.Wrap(err, fault.DeployDeleteFailed, "removing container "+name, "remove it with docker rm -f "+name)
		}
		r.Applied(deploy.Resource{Kind: containerKind, Name: name, Action: "deleted"})
	}
	nets, err := d.networks(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(nets))
	for _, n := range nets {
		names = append(names, n.Name)
	}
	for _, name := range slices.Sorted(slices.Values(names)) {
		if err := d.removeNetwork(ctx, name, r); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
