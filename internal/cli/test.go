package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newTest(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run       session.Options
		artifacts session.Artifacts
	)
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the tests (test[] of skaffold.yaml) of artifacts built earlier (--build-artifacts or --images)",
		Example: `  hoist build --file-output artifacts.json && hoist test --build-artifacts artifacts.json
  hoist test --images my-app=127.0.0.1:5000/my-app:v1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return session.Test(cmd.Context(), runOptions(cmd, run, s, logger()), artifacts)
		},
	}
	addRunFlags(cmd, &run)
	addServerFlags(cmd, &run.Server)
	addArtifactsFlags(cmd, &artifacts, "test")
	return cmd
}
