package session

import (
	"context"
	"time"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/render"
	"github.com/hoist-dev/hoist/internal/runner"
)

// DevOptions drive the dev loop.
type DevOptions struct {
	// Cleanup deletes what was deployed when the loop ends.
	Cleanup bool
	// AutoBuild builds when inputs change; AutoDeploy deploys after each
	// build. When off, only the ControlService's Execute does. AutoSync
	// copies changed files that sync rules match into the running
	// containers instead of rebuilding.
	AutoBuild, AutoDeploy, AutoSync bool
	// Trigger is notify (iterate on file changes) or manual (only on
	// Execute).
	Trigger string
	// Debounce is how long changes must be quiet before an iteration.
	Debounce time.Duration
}

// Dev runs a first iteration like Run, then rebuilds and redeploys what
// changes until ctx is done. With o.Server.Port, the Event API serves the
// ControlService too, and Skaffold's control methods drive the loop.
func Dev(ctx context.Context, o Options, b BuildOptions, d DeployOptions, dev DevOptions) error {
	if dev.Trigger != "notify" && dev.Trigger != "manual" {
		return usageError("--trigger must be notify or manual, got %q", dev.Trigger)
	}
	if err := d.WaitForDeletions.Check(); err != nil {
		return err
	}
	manual := dev.Trigger == "manual"
	return run(ctx, o, "dev", true, func(ctx context.Context, s *session) error {
		defer s.startForwarding(ctx, d.PortForward)()
		loop := runner.NewDev(runner.DevOptions{
			Bus:      s.bus,
			Cfg:      s.cfg,
			Load:     func() (*config.Config, error) { return config.Load(o.ConfigFile, o.configOptions("dev")) },
			Debounce: dev.Debounce,
			Cleanup:  dev.Cleanup,
			Log:      s.log,
			Build: func(ctx context.Context, cfg *config.Config, artifacts []*config.Artifact) ([]build.Result, error) {
				results, err := s.build(ctx, cfg, b, artifacts)
				if err == nil && !b.SkipTests {
					// What was rebuilt is tested before it is deployed.
					err = s.test(ctx, cfg, results)
				}
				return results, err
			},
			Test: func(ctx context.Context, cfg *config.Config, results []build.Result) error {
				if b.SkipTests {
					return nil
				}
				return s.test(ctx, cfg, results)
			},
			DeployInputs: func(cfg *config.Config) []string {
				var in []string
				if k := cfg.Deploy.Kubectl; k != nil {
					in = kubectl.KustomizeInputs(ctx, k.Kustomizations)
					if k.Helm != nil {
						in = append(in, render.ReleaseInputs(k.Helm.Releases, cfg.Dir)...)
					}
				}
				if h := cfg.Deploy.Helm; h != nil {
					in = append(in, render.ReleaseInputs(h.Releases, cfg.Dir)...)
				}
				return in
			},
			Deployer: func(ctx context.Context, cfg *config.Config) (*runner.Deploys, error) {
				return s.deploys(ctx, cfg, d)
			},
			AutoBuild:  dev.AutoBuild && !manual,
			AutoDeploy: dev.AutoDeploy && !manual,
			AutoSync:   dev.AutoSync && !manual,
		})
		s.control.Set(loop)
		if s.skaffold != nil {
			s.skaffold.SetController(loop)
		}
		return loop.Run(ctx)
	})
}
