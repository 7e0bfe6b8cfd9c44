package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/registry"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
)

// Digest sources: where hoist render takes the images' references from.
const (
	// DigestLocal builds the artifacts and uses the built tag@digest.
	DigestLocal = "local"
	// DigestRemote builds nothing: it asks the registry for the digest of
	// each artifact's tag.
	DigestRemote = "remote"
	// DigestTag builds nothing and uses each artifact's tag.
	DigestTag = "tag"
	// DigestNone replaces no image.
	DigestNone = "none"
)

// RenderOptions choose what hoist render prints and where.
type RenderOptions struct {
	// Output is the file the manifests go to; empty is Manifests.
	Output    string
	Manifests io.Writer
	// DigestSource is local, remote, tag or none; artifacts given in
	// Artifacts take its place.
	DigestSource string
	Artifacts    Artifacts
	// Offline renders without a cluster: objects that name no namespace
	// keep none.
	Offline bool
}

// Render prints the hydrated manifests of the config's deployers: raw
// YAML, kustomize and helm template, with the images replaced and the run
// id label and --label's added.
func Render(ctx context.Context, o Options, b BuildOptions, d DeployOptions, r RenderOptions) error {
	return run(ctx, o, "render", false, func(ctx context.Context, s *session) error {
		publish := func(e *pb.RenderEvent) {
			s.bus.Publish(&pb.Event{Payload: &pb.Event_RenderEvent{RenderEvent: e}})
		}
		publish(&pb.RenderEvent{Status: pb.Status_IN_PROGRESS})
		data, files, err := s.render(ctx, b, d, r)
		if err == nil {
			err = writeManifests(r, data)
		}
		switch {
		case err == nil:
			publish(&pb.RenderEvent{Status: pb.Status_SUCCEEDED, Manifests: files})
		case ctx.Err() != nil:
			err = fault.Wrap(context.Cause(ctx), fault.Canceled, "render canceled")
			publish(&pb.RenderEvent{Status: pb.Status_CANCELED, Manifests: files, Error: runner.ErrorOf(err)})
		default:
			publish(&pb.RenderEvent{Status: pb.Status_FAILED, Manifests: files, Error: runner.ErrorOf(err)})
		}
		return err
	})
}

func writeManifests(r RenderOptions, data []byte) error {
	if r.Output == "" {
		_, err := r.Manifests.Write(data)
		return err
	}
	if err := os.WriteFile(r.Output, data, 0o644); err != nil {
		return fault.Wrap(err, fault.UsageInvalid, "writing the manifests to "+r.Output, "check that its folder exists and can be written")
	}
	return nil
}

func (s *session) render(ctx context.Context, b BuildOptions, d DeployOptions, r RenderOptions) ([]byte, []string, error) {
	cfg := s.cfg
	dep := &kubectl.Deployer{Dir: cfg.Dir, RunID: s.bus.RunID(), Labels: d.Labels, Selector: cfg.ResourceSelector, Log: s.errOut,
		RenderHooks: cfg.RenderHooks, HookOut: s.errOut}
	defaultNamespace := ""
	if k := cfg.Deploy.Kubectl; k != nil {
		dep.Manifests, dep.Kustomizations = k.Manifests, k.Kustomizations
		defaultNamespace = k.DefaultNamespace
	}
	// Helm's releases render as helm template renders them, whichever
	// deployer deploys them.
	dep.Helm = cfg.HelmManifests
	if h := cfg.Deploy.Helm; dep.Helm == nil && h != nil {
		dep.Helm = &config.Helm{Releases: h.Releases, Flags: h.Flags}
	}
	if len(dep.Manifests) == 0 && len(dep.Kustomizations) == 0 && dep.Helm == nil {
		return nil, nil, fault.New(fault.DeployNoDeployer, fmt.Sprintf("%s has no manifests to render", cfg.File),
			"add manifests.rawYaml, manifests.kustomize or manifests.helm")
	}
	kubeContext := s.kubeContext(d)
	if !r.Offline {
		ns, err := kubectl.DefaultNamespace(kubectl.ClusterOptions{Kubeconfig: d.Kubeconfig, Context: kubeContext,
			Namespace: d.Namespace, DefaultNamespace: defaultNamespace})
		if err != nil {
			return nil, nil, err
		}
		dep.Namespace = ns
		// The kubeconfig has just been read.
		kubeContext, _ = kubectl.CurrentContext(d.Kubeconfig, kubeContext)
	}
	// Offline, the hooks are told only the context and namespace the
	// flags and the config name.
	namespace := dep.Namespace
	if namespace == "" {
		namespace = d.Namespace
	}
	dep.HookEnv = renderHookEnv(kubeContext, namespace)
	builds, err := s.renderImages(ctx, b, r)
	if err != nil {
		return nil, nil, err
	}
	return dep.Render(ctx, builds)
}

// kubeContext is the kube context of the flags, else of the config.
func (s *session) kubeContext(d DeployOptions) string {
	if d.KubeContext != "" {
		return d.KubeContext
	}
	return s.cfg.Deploy.KubeContext
}

// renderImages returns the images hoist render puts in the manifests.
func (s *session) renderImages(ctx context.Context, b BuildOptions, r RenderOptions) ([]build.Result, error) {
	if r.Artifacts.File != "" || len(r.Artifacts.Images) > 0 {
		return build.ReadArtifacts(r.Artifacts.File, r.Artifacts.Images)
	}
	switch r.DigestSource {
	case DigestLocal:
		return s.buildAll(ctx, b)
	case DigestNone:
		return nil, nil
	case DigestTag, DigestRemote, "":
	default:
		return nil, usageError("--digest-source %q is not local, remote, tag or none", r.DigestSource)
	}
	tagger := &tag.Tagger{Policy: s.cfg.Build.TagPolicy, Env: tag.Env()}
	var out []build.Result
	for _, a := range s.cfg.Build.Artifacts {
		t := b.Tag
		if t == "" {
			var err error
			if t, err = tagger.Tag(ctx, a); err != nil {
				return nil, err
			}
		}
		res := build.Result{ImageName: a.ImageName, Tag: tag.Name(a.ImageName, b.DefaultRepo) + ":" + t}
		if r.DigestSource != DigestTag {
			digest, err := registry.Insecure(s.cfg.Build.InsecureRegistries).Digest(ctx, res.Tag)
			if err != nil {
				return nil, fault.Wrap(err, fault.CodeOf(err), fmt.Sprintf("the registry has no digest of %s", res.Tag),
					"build and push it first (hoist build --push), or render with --digest-source local (build now) or tag")
			}
			res.Digest, res.Pushed = digest, true
		}
		out = append(out, res)
	}
	return out, nil
}

// Apply deploys manifests rendered earlier (by hoist render) as hoist
// deploy deploys the config's, with the config's cluster settings and
// status check: files are paths or globs, relative to the working folder.
func Apply(ctx context.Context, o Options, d DeployOptions, files []string) error {
	return run(ctx, o, "apply", false, func(ctx context.Context, s *session) error {
		cfg := *s.cfg
		k := config.KubectlDeploy{}
		if s.cfg.Deploy.Kubectl != nil {
			k = *s.cfg.Deploy.Kubectl
		}
		k.Manifests, k.Kustomizations, k.Helm = nil, nil, nil
		for _, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				return usageError("manifest %q: %v", f, err)
			}
			k.Manifests = append(k.Manifests, abs)
		}
		// The manifests were rendered: their render hooks have run.
		cfg.RenderHooks = nil
		cfg.Deploy = config.Deploy{Kubectl: &k, StatusCheck: cfg.Deploy.StatusCheck, KubeContext: cfg.Deploy.KubeContext,
			StatusCheckDeadlineSeconds: cfg.Deploy.StatusCheckDeadlineSeconds, TolerateFailuresUntilDeadline: cfg.Deploy.TolerateFailuresUntilDeadline}
		p, err := s.deploys(ctx, &cfg, d)
		if err != nil {
			return runner.Fail(s.bus, "kubectl", err)
		}
		return s.stayUp(ctx, d, p.Run(ctx, nil))
	})
}
