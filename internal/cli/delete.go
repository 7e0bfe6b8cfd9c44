package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newDelete(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run    session.Options
		deploy deployFlags
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete what the manifests describe, reporting each object as events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return session.Delete(cmd.Context(), runOptions(cmd, deploy.cluster(run), s, logger()), deploy.options(cmd))
		},
	}
	addRunFlags(cmd, &run)
	deploy.add(cmd, false)
	return cmd
}
