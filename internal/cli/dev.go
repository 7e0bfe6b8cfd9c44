package cli

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newDev(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run    session.Options
		build  buildFlags
		deploy deployFlags
		dev    session.DevOptions
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run, then rebuild and redeploy what changes, until Ctrl-C",
		Long: `hoist dev runs a first iteration like hoist run, then watches the artifacts'
inputs, the Dockerfiles, the manifests and skaffold.yaml, and after each burst of
changes rebuilds the artifacts whose inputs changed and redeploys. Each iteration
is reported as a devLoopEvent. An artifact whose changed files all match its
sync rules (build.artifacts[].sync) has them copied into its running containers
instead, reported as a fileSyncEvent, and is rebuilt if that fails. With
--rpc-port, the ControlService drives the session: Execute, AutoBuild,
AutoDeploy, AutoSync, and so do Skaffold's own v1 and v2 services on the
same port and their HTTP gateway on --rpc-http-port, as IDEs call them
(docs/skaffold-api.md). Ctrl-C cancels what is in flight, deletes
what was deployed (unless --cleanup=false) and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return session.Dev(cmd.Context(), runOptions(cmd, deploy.cluster(run), s, logger()), build.options(cmd), deploy.options(cmd), dev)
		},
	}
	addRunFlags(cmd, &run)
	build.add(cmd)
	addServerFlags(cmd, &run.Server)
	deploy.add(cmd, true)
	deploy.addLabels(cmd)
	deploy.addWaitForDeletions(cmd)
	addPortForwardFlag(cmd, &deploy.PortForward, "user")
	f := cmd.Flags()
	f.BoolVar(&dev.Cleanup, "cleanup", true, "delete what was deployed when hoist dev stops")
	f.BoolVar(&dev.AutoBuild, "auto-build", true, "build when inputs change; when off, only Execute builds")
	f.BoolVar(&dev.AutoDeploy, "auto-deploy", true, "deploy after each build; when off, only Execute deploys")
	f.BoolVar(&dev.AutoSync, "auto-sync", true, "copy changed files that an artifact's sync rules match into its running containers instead of rebuilding")
	f.StringVar(&dev.Trigger, "trigger", "notify", "notify (rebuild on file changes) or manual (wait for Execute)")
	f.DurationVar(&dev.Debounce, "debounce", 200*time.Millisecond, "how long changes must be quiet before an iteration starts (an editor's save is usually one burst well within it)")
	return cmd
}
