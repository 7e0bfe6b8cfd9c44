package skaffoldapi

import (
	"fmt"
	"path/filepath"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/skaffold/enums"
	"github.com/hoist-dev/hoist/internal/config"
)

// Options are what a translation needs that hoist's events do not carry:
// the pipeline's metadata and the dev loop's automatic triggers.
type Options struct {
	// Artifacts describe the config's artifacts for the metadata of the
	// metaEvent; one that the metaEvent names and Artifacts does not
	// describe has builder UNKNOWN_BUILDER_TYPE.
	Artifacts []Artifact
	// HelmReleases is the number of deploy.helm releases: Skaffold counts
	// its Helm deployer by them.
	HelmReleases int
	// KubeContext is the kube context deployed to; its name gives the
	// cluster type (minikube, gke_..., other).
	KubeContext string
	// Triggers reports the dev loop's automatic triggers when State is
	// called; nil reports them all on, as Skaffold's defaults are.
	Triggers func() Triggers
}

// Artifact describes one artifact of the config.
type Artifact struct {
	Image   string
	Builder enums.BuilderType
	// Context and Dockerfile are as the config gives them, relative to
	// its folder.
	Context, Dockerfile string
}

// Triggers are the dev loop's automatic triggers (--auto-build,
// --auto-sync, --auto-deploy and Skaffold's AutoBuild, AutoSync and
// AutoDeploy).
type Triggers struct {
	Build, Sync, Deploy bool
}

// OptionsFor describes cfg's pipeline, deployed to kubeContext.
func OptionsFor(cfg *config.Config, kubeContext string) Options {
	o := Options{KubeContext: kubeContext}
	for _, a := range cfg.Build.Artifacts {
		d := Artifact{Image: a.ImageName, Builder: enums.BuilderType_UNKNOWN_BUILDER_TYPE, Context: relTo(cfg.Dir, a.Context)}
		switch {
		case a.Docker != nil:
			d.Builder, d.Dockerfile = enums.BuilderType_DOCKER, a.Docker.Dockerfile
		case a.Custom != nil:
			d.Builder = enums.BuilderType_CUSTOM
		}
		o.Artifacts = append(o.Artifacts, d)
	}
	if cfg.Deploy.Helm != nil {
		o.HelmReleases = len(cfg.Deploy.Helm.Releases)
	}
	return o
}

// relTo is path relative to dir, when it is inside it.
func relTo(dir, path string) string {
	if dir == "" || !filepath.IsAbs(path) {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return path
}

func (o Options) triggers() Triggers {
	if o.Triggers == nil {
		return Triggers{Build: true, Sync: true, Deploy: true}
	}
	return o.Triggers()
}

// artifact describes image: as Options do, or with an unknown builder.
func (o Options) artifact(image string) Artifact {
	for _, a := range o.Artifacts {
		if a.Image == image {
			return a
		}
	}
	return Artifact{Image: image, Builder: enums.BuilderType_UNKNOWN_BUILDER_TYPE}
}

// deployer is one of Skaffold's deployers of the metadata and how many
// it counts.
type deployer struct {
	kind  enums.DeployerType
	count int32
}

// deployersOf are the Skaffold deployers of the metaEvent's: Skaffold
// counts its kubectl deployer once and its Helm deployer by releases, and
// has none for the Docker deployer.
func (o Options) deployersOf(meta *pb.MetaEvent) []deployer {
	var out []deployer
	for _, name := range splitList(meta.GetDeployer()) {
		switch name {
		case "kubectl":
			out = append(out, deployer{enums.DeployerType_KUBECTL, 1})
		case "helm":
			out = append(out, deployer{enums.DeployerType_HELM, int32(max(o.HelmReleases, 1))})
		}
	}
	return out
}

// clusterType is the kind of cluster of a kube context, as Skaffold tells
// it from its name.
func clusterType(kubeContext string) enums.ClusterType {
	switch {
	case strings.Contains(kubeContext, "minikube"):
		return enums.ClusterType_MINIKUBE
	case strings.HasPrefix(kubeContext, "gke"):
		return enums.ClusterType_GKE
	default:
		return enums.ClusterType_OTHER
	}
}

// metaEntry is the metaEvent's entry: Skaffold writes its version there.
func metaEntry(meta *pb.MetaEvent) string {
	return fmt.Sprintf("Starting hoist: {Version:%s Command:%s WorkingDir:%s}", meta.GetVersion(), meta.GetCommand(), meta.GetWorkingDir())
}
