package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/runner"
)

type devOptions struct {
	run        runOptions
	cleanup    bool
	autoBuild  bool
	autoDeploy bool
	trigger    string
	debounce   time.Duration
}

func newDev(s Streams, logger func() *slog.Logger) *cobra.Command {
	o := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run, then rebuild and redeploy what changes, until Ctrl-C",
		Long: `hoist dev runs a first iteration like hoist run, then watches the artifacts'
inputs, the Dockerfiles, the manifests and skaffold.yaml, and after each burst of
changes rebuilds the artifacts whose inputs changed and redeploys. Each iteration
is reported as a devLoopEvent. With --rpc-port, the ControlService drives the
session: Execute, AutoBuild, AutoDeploy. Ctrl-C cancels what is in flight, deletes
what was deployed (unless --cleanup=false) and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.run.build.pushSet = cmd.Flags().Changed("push")
			o.run.deploy.statusCheckSet = cmd.Flags().Changed("status-check")
			if o.trigger != "notify" && o.trigger != "manual" {
				return usageError("--trigger must be notify or manual, got %q", o.trigger)
			}
			return runDev(cmd.Context(), s, logger(), o)
		},
	}
	o.run.build.addFlags(cmd)
	o.run.build.events.addServerFlags(cmd)
	o.run.deploy.addFlags(cmd, true)
	f := cmd.Flags()
	f.BoolVar(&o.cleanup, "cleanup", true, "delete what was deployed when hoist dev stops")
	f.BoolVar(&o.autoBuild, "auto-build", true, "build when inputs change; when off, only Execute builds")
	f.BoolVar(&o.autoDeploy, "auto-deploy", true, "deploy after each build; when off, only Execute deploys")
	f.StringVar(&o.trigger, "trigger", "notify", "notify (rebuild on file changes) or manual (wait for Execute)")
	f.DurationVar(&o.debounce, "debounce", 500*time.Millisecond, "how long changes must be quiet before an iteration starts")
	return cmd
}

func runDev(ctx context.Context, s Streams, log *slog.Logger, o *devOptions) error {
	o.run.build.events.server.control = true
	file := o.run.build.config.filename
	ss, cfg, err := begin(ctx, s, log, "dev", file, o.run.build.events)
	if ss == nil {
		return err
	}
	if err != nil {
		return ss.finish(err)
	}
	manual := o.trigger == "manual"
	dev := runner.NewDev(runner.DevOptions{
		Bus:      ss.bus,
		Cfg:      cfg,
		Load:     func() (*config.Config, error) { return config.Load(file) },
		Debounce: o.debounce,
		Cleanup:  o.cleanup,
		Log:      log,
		Build: func(ctx context.Context, cfg *config.Config, artifacts []*config.Artifact) ([]build.Result, error) {
			return buildAll(ctx, ss, log, cfg, &o.run.build, artifacts)
		},
		Deployer: func(ctx context.Context, cfg *config.Config) (*runner.Deploys, error) {
			return deploys(ctx, ss, cfg, &o.run.deploy)
		},
		AutoBuild:  o.autoBuild && !manual,
		AutoDeploy: o.autoDeploy && !manual,
	})
	if ss.control != nil {
		ss.control.Set(dev)
	}
	return ss.finish(dev.Run(ctx))
}
