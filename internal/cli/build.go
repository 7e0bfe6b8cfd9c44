package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newBuild(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run   session.Options
		build buildFlags
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build every artifact (and push it, if configured) and report each step as events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return session.Build(cmd.Context(), runOptions(cmd, run, s, logger()), build.options(cmd))
		},
	}
	addRunFlags(cmd, &run)
	build.add(cmd)
	addServerFlags(cmd, &run.Server)
	return cmd
}
