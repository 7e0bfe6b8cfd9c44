package session

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	"github.com/hoist-dev/hoist/internal/config"
	dockerdeploy "github.com/hoist-dev/hoist/internal/deploy/docker"
	"github.com/hoist-dev/hoist/internal/deploy/helm"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/deploy/status"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/hooks"
	"github.com/hoist-dev/hoist/internal/portforward"
	"github.com/hoist-dev/hoist/internal/runner"
)

// DeployOptions choose the cluster and the checks.
type DeployOptions struct {
	KubeContext string
	Kubeconfig  string
	// Namespace is the namespace of objects that name none.
	Namespace string
	// StatusCheck, when set, overrides deploy.statusCheck.
	StatusCheck *bool
	// TolerateFailures, when set, overrides
	// deploy.tolerateFailuresUntilDeadline.
	TolerateFailures *bool
	// Tail follows the logs of the deployed pods, as applicationLogEvents;
	// run, deploy and apply then wait for Ctrl-C once deployed.
	Tail bool
	// PortForward says what to forward after each deploy (--port-forward).
	// A run or deploy that forwards then keeps forwarding until it is
	// interrupted.
	PortForward portforward.Modes
	// Labels (--label) are put on every object deployed, and on pod
	// templates, beside the run id label; on containers of deploy.docker.
	Labels map[string]string
	// WaitForDeletions makes deploy.kubectl wait, before it applies, for
	// objects of its manifests that are still being deleted
	// (--wait-for-deletions, -max, -delay).
	WaitForDeletions kubectl.WaitForDeletions
}

// Artifacts are built images to deploy: a build artifacts file (see
// build.ReadArtifacts) and references given one by one.
type Artifacts struct {
	File   string
	Images []string
}

// Run builds every artifact, deploys them and waits until they are
// healthy.
func Run(ctx context.Context, o Options, b BuildOptions, d DeployOptions) error {
	if err := d.WaitForDeletions.Check(); err != nil {
		return err
	}
	return run(ctx, o, "run", false, func(ctx context.Context, s *session) error {
		defer s.startForwarding(ctx, d.PortForward)()
		results, err := s.buildAll(ctx, b)
		if err != nil {
			return err
		}
		if !b.SkipTests {
			if err := s.test(ctx, s.cfg, results); err != nil {
				return err
			}
		}
		return s.stayUp(ctx, d, s.deploy(ctx, d, func(ctx context.Context, p *runner.Deploys) error { return p.Run(ctx, results) }))
	})
}

// stayUp waits, after a deploy that succeeded, until the user stops the
// run, when it follows the deployed pods' logs (--tail) or forwards ports
// (--port-forward); a deploy that failed ends the run at once.
func (s *session) stayUp(ctx context.Context, d DeployOptions, deployErr error) error {
	if deployErr != nil || (!d.Tail && s.forwards == nil) {
		return deployErr
	}
	switch {
	case d.Tail && s.forwards != nil:
		s.tell("Following the deployed pods' logs and forwarding ports until interrupted (Ctrl-C)\n")
	case d.Tail:
		s.tell("Following the deployed pods' logs until interrupted (Ctrl-C)\n")
	default:
		s.tell("Forwarding ports until interrupted (Ctrl-C)\n")
	}
	<-ctx.Done()
	return nil
}

// Test runs the tests of artifacts built earlier.
func Test(ctx context.Context, o Options, a Artifacts) error {
	return run(ctx, o, "test", false, func(ctx context.Context, s *session) error {
		results, err := build.ReadArtifacts(a.File, a.Images)
		if err != nil {
			return err
		}
		return s.test(ctx, s.cfg, results)
	})
}

// test runs the config's tests of the built results.
func (s *session) test(ctx context.Context, cfg *config.Config, results []build.Result) error {
	return (&runner.Tests{Bus: s.bus, Cases: cfg.Test}).Run(ctx, results)
}

// Deploy deploys artifacts built earlier and waits until they are healthy.
func Deploy(ctx context.Context, o Options, d DeployOptions, a Artifacts) error {
	if err := d.WaitForDeletions.Check(); err != nil {
		return err
	}
	return run(ctx, o, "deploy", false, func(ctx context.Context, s *session) error {
		defer s.startForwarding(ctx, d.PortForward)()
		results, err := build.ReadArtifacts(a.File, a.Images)
		if err != nil {
			return err
		}
		return s.stayUp(ctx, d, s.deploy(ctx, d, func(ctx context.Context, p *runner.Deploys) error { return p.Run(ctx, results) }))
	})
}

// Delete deletes what the manifests describe.
func Delete(ctx context.Context, o Options, d DeployOptions) error {
	return run(ctx, o, "delete", false, func(ctx context.Context, s *session) error {
		return s.deploy(ctx, d, func(ctx context.Context, p *runner.Deploys) error { return p.Delete(ctx) })
	})
}

// deploy runs phase with the deploy phase of the run's config. A deploy
// that cannot start, such as one whose cluster does not answer, is
// reported as a failed deploy.
func (s *session) deploy(ctx context.Context, d DeployOptions, phase func(context.Context, *runner.Deploys) error) error {
	p, err := s.deploys(ctx, s.cfg, d)
	if err != nil {
		return runner.Fail(s.bus, s.cfg.Deployer(), err)
	}
	return phase(ctx, p)
}

// deploys returns the deploy phase of cfg on the run's bus, with a
// deployer for each kind of deploy the config has.
func (s *session) deploys(ctx context.Context, cfg *config.Config, d DeployOptions) (*runner.Deploys, error) {
	if cfg.Deployer() == "" {
		return nil, fault.New(fault.DeployNoDeployer,
			fmt.Sprintf("%s configures no deployer", cfg.File), "add deploy.kubectl with its manifests, deploy.helm with its releases, or deploy.docker with the images to run")
	}
	check := cfg.Deploy.StatusCheck == nil || *cfg.Deploy.StatusCheck
	if d.StatusCheck != nil {
		check = *d.StatusCheck
	}
	tolerate := cfg.Deploy.TolerateFailuresUntilDeadline
	if d.TolerateFailures != nil {
		tolerate = *d.TolerateFailures
	}
	p := &runner.Deploys{
		Bus:         s.bus,
		StatusCheck: check,
		Check: status.Options{Deadline: time.Duration(cfg.Deploy.StatusCheckDeadlineSeconds) * time.Second,
			TolerateFailures: tolerate},
		HookOut: s.errOut,
		RunID:   s.bus.RunID(),
	}
	var cluster *kubectl.Cluster
	connect := func(defaultNamespace string) error {
		if cluster != nil {
			return nil
		}
		kubeContext := d.KubeContext
		if kubeContext == "" {
			kubeContext = cfg.Deploy.KubeContext
		}
		var err error
		cluster, err = kubectl.Connect(ctx, kubectl.ClusterOptions{Kubeconfig: d.Kubeconfig, Context: kubeContext,
			Namespace: d.Namespace, DefaultNamespace: defaultNamespace})
		if err != nil {
			return err
		}
		p.Client, p.Exec = cluster.Typed, cluster.Exec
		p.KubeContext, p.Namespace = cluster.Context, cluster.Namespace
		if d.Tail {
			p.Logs = s.podLogs(ctx, cluster)
		}
		return nil
	}
	if k := cfg.Deploy.Kubectl; k != nil {
		if err := connect(k.DefaultNamespace); err != nil {
			return nil, err
		}
		// Validated when the config loaded.
		kubectlOptions, _ := k.Flags.Options()
		p.Deployers = append(p.Deployers, &kubectl.Deployer{Cluster: cluster, Dir: cfg.Dir, Manifests: k.Manifests, RunID: s.bus.RunID(),
			Labels: d.Labels, Selector: cfg.ResourceSelector, Options: kubectlOptions, Kustomizations: k.Kustomizations, Helm: k.Helm, Log: s.errOut,
			RenderHooks: cfg.RenderHooks, HookOut: s.errOut, HookEnv: renderHookEnv(cluster.Context, cluster.Namespace),
			WaitForDeletions: d.WaitForDeletions})
		p.Hooks = k.Hooks
	}
	if h := cfg.Deploy.Helm; h != nil {
		if err := connect(""); err != nil {
			return nil, err
		}
		if cfg.Deploy.Kubectl == nil && len(cfg.RenderHooks) > 0 {
			s.log.Warn("manifests.hooks run only where hoist renders manifests (hoist render, deploy.kubectl), not here: deploy.helm renders and installs its releases with Helm itself")
		}
		p.Deployers = append(p.Deployers, &helm.Deployer{Releases: h.Releases, Flags: h.Flags, Dir: cfg.Dir,
			Kubeconfig: d.Kubeconfig, KubeContext: cluster.Context, Namespace: cluster.Namespace,
			RunID: s.bus.RunID(), Labels: d.Labels, Selector: cfg.ResourceSelector, Log: s.errOut})
		if p.Hooks == nil {
			p.Hooks = h.Hooks
		}
	}
	if dk := cfg.Deploy.Docker; dk != nil {
		// The local Docker engine: no cluster to connect to.
		c, err := daemon.Connect()
		if err != nil {
			return nil, err
		}
		p.Deployers = append(p.Deployers, &dockerdeploy.Deployer{Client: c, Images: dk.Images, PortForward: cfg.PortForward,
			RunID: s.bus.RunID(), Labels: d.Labels, Project: dockerdeploy.ProjectID(cfg.File), Logs: s.containerLogs()})
	}
	p.Deployed = s.forwardDeployed(cluster, cfg, d.PortForward)
	return p, nil
}

// renderHookEnv is what render hooks are told, as Skaffold tells them:
// SKAFFOLD_KUBE_CONTEXT, SKAFFOLD_NAMESPACES and SKAFFOLD_WORK_DIR.
func renderHookEnv(kubeContext, namespace string) hooks.Env {
	wd, _ := os.Getwd()
	return hooks.Env{"KUBE_CONTEXT": kubeContext, "NAMESPACES": namespace, "WORK_DIR": wd}
}
