package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newRun(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run    session.Options
		build  buildFlags
		deploy deployFlags
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Build, push, deploy and wait until healthy, reporting every step as events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return session.Run(cmd.Context(), runOptions(deploy.cluster(run), s, logger()), build.options(cmd), deploy.options(cmd))
		},
	}
	addRunFlags(cmd, &run)
	build.add(cmd)
	addServerFlags(cmd, &run.Server)
	deploy.add(cmd, true)
	deploy.addLabels(cmd)
	deploy.addWaitForDeletions(cmd)
	addPortForwardFlag(cmd, &deploy.PortForward, "off")
	return cmd
}
