package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newDeploy(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run       session.Options
		deploy    deployFlags
		artifacts session.Artifacts
	)
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy artifacts built earlier (--build-artifacts or --images) and wait until healthy",
		Example: `  hoist build --file-output artifacts.json && hoist deploy --build-artifacts artifacts.json
  hoist deploy --images my-app=127.0.0.1:5000/my-app:v1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return session.Deploy(cmd.Context(), runOptions(deploy.cluster(run), s, logger()), deploy.options(cmd), artifacts)
		},
	}
	addRunFlags(cmd, &run)
	addServerFlags(cmd, &run.Server)
	deploy.add(cmd, true)
	deploy.addLabels(cmd)
	deploy.addWaitForDeletions(cmd)
	addPortForwardFlag(cmd, &deploy.PortForward, "off")
	addArtifactsFlags(cmd, &artifacts, "deploy")
	return cmd
}
