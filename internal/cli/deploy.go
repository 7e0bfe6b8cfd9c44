package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
)

// deployOptions are the flags that choose the cluster and the checks.
type deployOptions struct {
	kubeContext    string
	kubeconfig     string
	namespace      string
	statusCheck    bool
	statusCheckSet bool
}

func (o *deployOptions) addFlags(cmd *cobra.Command, withStatus bool) {
	f := cmd.Flags()
	f.StringVar(&o.kubeContext, "kube-context", "", "kubeconfig context to deploy to (default: the current context)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace for objects that name none (default: deploy.kubectl.defaultNamespace, then the context's)")
	if withStatus {
		f.BoolVar(&o.statusCheck, "status-check", true, "wait for deployed workloads to be ready (default from deploy.statusCheck)")
	}
}

// deploys returns the deploy phase of a config on the session's bus.
func deploys(ctx context.Context, ss *session, cfg *config.Config, o *deployOptions) (*runner.Deploys, error) {
	if cfg.Deploy.Kubectl == nil {
		return nil, fault.New(fault.DeployNoDeployer,
			fmt.Sprintf("%s configures no deployer", cfg.File), "add deploy.kubectl with its manifests")
	}
	cluster, err := kubectl.Connect(ctx, kubectl.ClusterOptions{Kubeconfig: o.kubeconfig, Context: o.kubeContext,
		Namespace: o.namespace, DefaultNamespace: cfg.Deploy.Kubectl.DefaultNamespace})
	if err != nil {
		return nil, err
	}
	check := cfg.Deploy.StatusCheck == nil || *cfg.Deploy.StatusCheck
	if o.statusCheckSet {
		check = o.statusCheck
	}
	return &runner.Deploys{
		Bus:         ss.bus,
		Name:        "kubectl",
		Deployer:    &kubectl.Deployer{Cluster: cluster, Dir: cfg.Dir, Manifests: cfg.Deploy.Kubectl.Manifests, RunID: ss.bus.RunID()},
		StatusCheck: check,
		Deadline:    time.Duration(cfg.Deploy.StatusCheckDeadlineSeconds) * time.Second,
		Client:      cluster.Typed,
	}, nil
}

// failDeploy reports a deploy that could not start, such as one whose
// cluster does not answer, as a failed deploy.
func failDeploy(ss *session, err error) error {
	return (&runner.Deploys{Bus: ss.bus, Name: "kubectl"}).Fail(err)
}

type runOptions struct {
	build  buildOptions
	deploy deployOptions
}

func newRun(s Streams, logger func() *slog.Logger) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Build, push, deploy and wait until healthy, reporting every step as events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.build.pushSet = cmd.Flags().Changed("push")
			o.deploy.statusCheckSet = cmd.Flags().Changed("status-check")
			return runRun(cmd.Context(), s, logger(), o)
		},
	}
	o.build.addFlags(cmd)
	o.build.events.addServerFlags(cmd)
	o.deploy.addFlags(cmd, true)
	return cmd
}

func runRun(ctx context.Context, s Streams, log *slog.Logger, o *runOptions) error {
	ss, cfg, err := begin(ctx, s, log, "run", o.build.config.filename, o.build.events)
	if ss == nil {
		return err
	}
	if err != nil {
		return ss.finish(err)
	}
	results, err := buildAll(ctx, ss, log, cfg, &o.build, cfg.Build.Artifacts)
	if err == nil && o.build.fileOutput != "" {
		err = writeBuildOutput(o.build.fileOutput, results)
	}
	if err != nil {
		return ss.finish(err)
	}
	d, err := deploys(ctx, ss, cfg, &o.deploy)
	if err != nil {
		return ss.finish(failDeploy(ss, err))
	}
	return ss.finish(d.Run(ctx, results))
}

type deployCmdOptions struct {
	config         configOptions
	events         eventOptions
	deploy         deployOptions
	buildArtifacts string
	images         []string
}

func newDeploy(s Streams, logger func() *slog.Logger) *cobra.Command {
	o := &deployCmdOptions{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy artifacts built earlier (--build-artifacts or --images) and wait until healthy",
		Example: `  hoist build --file-output artifacts.json && hoist deploy --build-artifacts artifacts.json
  hoist deploy --images my-app=127.0.0.1:5000/my-app:v1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.deploy.statusCheckSet = cmd.Flags().Changed("status-check")
			return runDeploy(cmd.Context(), s, logger(), o)
		},
	}
	o.config.addFlags(cmd)
	o.events.addFlags(cmd)
	o.events.addServerFlags(cmd)
	o.deploy.addFlags(cmd, true)
	cmd.Flags().StringVarP(&o.buildArtifacts, "build-artifacts", "a", "", "file of built artifacts, as written by hoist build --file-output")
	cmd.Flags().StringSliceVarP(&o.images, "images", "i", nil, "built images to deploy: name=reference, or a reference whose name is an artifact's")
	return cmd
}

func runDeploy(ctx context.Context, s Streams, log *slog.Logger, o *deployCmdOptions) error {
	ss, cfg, err := begin(ctx, s, log, "deploy", o.config.filename, o.events)
	if ss == nil {
		return err
	}
	if err != nil {
		return ss.finish(err)
	}
	builds, err := builtArtifacts(o.buildArtifacts, o.images)
	if err != nil {
		return ss.finish(err)
	}
	d, err := deploys(ctx, ss, cfg, &o.deploy)
	if err != nil {
		return ss.finish(failDeploy(ss, err))
	}
	return ss.finish(d.Run(ctx, builds))
}

// builtArtifacts reads --build-artifacts and --images into build results.
func builtArtifacts(file string, images []string) ([]build.Result, error) {
	var refs []builtImage
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fault.Wrap(err, fault.DeployArtifactsInvalid, "reading --build-artifacts",
				"write it with hoist build --file-output")
		}
		var out buildOutput
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, fault.Wrap(err, fault.DeployArtifactsInvalid,
				fmt.Sprintf("%s is not a build artifacts file", file), "write it with hoist build --file-output")
		}
		refs = out.Builds
	}
	for _, img := range images {
		name, ref, ok := strings.Cut(img, "=")
		if !ok {
			ref, name = img, build.Repository(img)
		}
		refs = append(refs, builtImage{ImageName: name, Tag: ref})
	}
	results := make([]build.Result, 0, len(refs))
	for i, r := range refs {
		if r.ImageName == "" || r.Tag == "" {
			return nil, fault.New(fault.DeployArtifactsInvalid,
				fmt.Sprintf("built artifact %d (imageName %q, tag %q) needs an imageName and a tag", i+1, r.ImageName, r.Tag),
				"write the file with hoist build --file-output, or give --images name=reference")
		}
		tag, digest, _ := strings.Cut(r.Tag, "@")
		results = append(results, build.Result{ImageName: r.ImageName, Tag: tag, Digest: digest, Pushed: digest != ""})
	}
	return results, nil
}

type deleteOptions struct {
	config configOptions
	events eventOptions
	deploy deployOptions
}

func newDelete(s Streams, logger func() *slog.Logger) *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete what the manifests describe, reporting each object as events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDelete(cmd.Context(), s, logger(), o)
		},
	}
	o.config.addFlags(cmd)
	o.events.addFlags(cmd)
	o.deploy.addFlags(cmd, false)
	return cmd
}

func runDelete(ctx context.Context, s Streams, log *slog.Logger, o *deleteOptions) error {
	ss, cfg, err := begin(ctx, s, log, "delete", o.config.filename, o.events)
	if ss == nil {
		return err
	}
	if err != nil {
		return ss.finish(err)
	}
	d, err := deploys(ctx, ss, cfg, &o.deploy)
	if err != nil {
		return ss.finish(failDeploy(ss, err))
	}
	return ss.finish(d.Delete(ctx))
}
