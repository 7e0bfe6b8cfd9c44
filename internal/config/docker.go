package config

import (
	"fmt"
	"slices"
	"strings"
)

// DockerDeploy runs built images as containers of the local Docker
// engine, as Skaffold's docker deployer does: one container per image,
// all on one network, where each reaches the others by image name.
type DockerDeploy struct {
	// UseCompose deploys with docker compose in Skaffold, which hoist does
	// not do yet: a config that sets it is refused.
	UseCompose bool `yaml:"useCompose,omitempty"`
	// Images are the artifacts to run, by image name (build.artifacts[].image).
	Images []string `yaml:"images" hoist:"required"`
}

// ContainerPortType is the portForward resourceType of a container that
// deploy.docker runs: its port is published on the host.
const ContainerPortType = "container"

// LoopbackAddress reports whether addr, a portForward address, is one
// hoist publishes a container's port on: 127.0.0.1, which localhost and
// an empty address mean too.
func LoopbackAddress(addr string) bool {
	return addr == "" || addr == "localhost" || addr == "127.0.0.1"
}

// validateDocker checks deploy.docker and the container ports of one
// config: docker compose is refused, each image is named once, and a
// container's port is a number published on loopback.
func validateDocker(c *Config, at locator) []*Error {
	var errs []*Error
	if d := c.Deploy.Docker; d != nil {
		if d.UseCompose {
			e := at("deploy.docker.useCompose", "hoist does not deploy with docker compose yet").
				withHint("remove useCompose: hoist then runs each image of deploy.docker.images as a container; or use Skaffold for this config")
			e.Unsupported = true
			errs = append(errs, e)
		}
		if len(d.Images) == 0 {
			errs = append(errs, at("deploy.docker.images", "deploy.docker.images lists no image to run").
				withHint("list the image names of the artifacts to run, such as images: [my-app]"))
		}
		for i, img := range d.Images {
			p := fmt.Sprintf("deploy.docker.images[%d]", i)
			switch {
			case img == "":
				errs = append(errs, at(p, "an image name must not be empty"))
			case slices.Index(d.Images, img) < i:
				errs = append(errs, at(p, "image %q is listed twice", img))
			}
		}
	}
	for i, pf := range c.PortForward {
		if !strings.EqualFold(pf.Type, ContainerPortType) {
			continue
		}
		p := fmt.Sprintf("portForward[%d]", i)
		if pf.Port.Str != "" {
			errs = append(errs, at(p+".port", "port %q of a container is not a number", pf.Port.Str).
				withHint("give the container's port number, such as port: 8080"))
		}
		if !LoopbackAddress(pf.Address) {
			errs = append(errs, at(p+".address", "a container's port is published on 127.0.0.1 only, not on %s", pf.Address).
				withHint("remove address, or set it to 127.0.0.1"))
		}
	}
	return errs
}

// dockerErrors checks deploy.docker across the configs of a run: each
// image it lists is an artifact one of them builds, and each container
// port forwarded is of an image it lists. Without deploy.docker, container
// ports are left alone, as Skaffold's Kubernetes deployers leave them.
func dockerErrors(cfgs []*Config) []*Error {
	var built, run []string
	for _, c := range cfgs {
		built = append(built, c.ImageNames()...)
		if d := c.Deploy.Docker; d != nil {
			run = append(run, d.Images...)
		}
	}
	var errs []*Error
	for _, c := range cfgs {
		if d := c.Deploy.Docker; d != nil {
			for i, img := range d.Images {
				if img != "" && !slices.Contains(built, img) {
					e := c.at(fmt.Sprintf("deploy.docker.images[%d]", i), "deploy.docker.images names %q, which no artifact of the run builds", img)
					if m := closest(img, built); m != "" {
						e.Hint = fmt.Sprintf("did you mean %q?", m)
					} else {
						e.Hint = "list image names of build.artifacts"
					}
					errs = append(errs, e)
				}
			}
		}
	}
	if len(run) == 0 {
		return errs
	}
	for _, c := range cfgs {
		for i, pf := range c.PortForward {
			if !strings.EqualFold(pf.Type, ContainerPortType) {
				continue
			}
			if !slices.ContainsFunc(run, func(img string) bool { return strings.EqualFold(img, pf.Name) }) {
				errs = append(errs, c.at(fmt.Sprintf("portForward[%d].resourceName", i), "resourceName %q names no image of deploy.docker.images", pf.Name).
					withHint("a container's resourceName is the image name it runs: one of "+strings.Join(run, ", ")))
			}
		}
	}
	return errs
}

// mergeDocker adds the docker deploy of another config of the run to the
// run's, without changing either: the images add up, in order, each once.
func mergeDocker(run, other *DockerDeploy) *DockerDeploy {
	if other == nil {
		return run
	}
	out := &DockerDeploy{}
	if run != nil {
		*out = *run
	}
	out.UseCompose = out.UseCompose || other.UseCompose
	out.Images = slices.Clone(out.Images)
	for _, img := range other.Images {
		if !slices.Contains(out.Images, img) {
			out.Images = append(out.Images, img)
		}
	}
	return out
}
