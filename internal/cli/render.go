package cli

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/session"
)

func newRender(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run    session.Options
		build  buildFlags
		deploy deployFlags
		render session.RenderOptions
	)
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the hydrated manifests of every deployer (raw YAML, kustomize, helm template) with the images replaced",
		Long: `Render prints the manifests hoist would deploy: raw YAML, kustomize
builds and helm template renderings, with each artifact's image replaced
and the hoist.dev/run-id label (and --label's) added, to standard output or to a file
with -o. hoist apply deploys them later. The config's render hooks
(manifests.hooks) run as in a deploy, their output on standard error.

The images come from --digest-source: remote (the default) asks the
registry for the digest of each artifact's tag, local builds the artifacts
first, tag uses the tags without digests, none leaves the images as
written. --build-artifacts or --images give the images instead.

While the manifests go to standard output, the events go there only with
--event-format; --event-log-file and --event-rpc-address work as usual.`,
		Example: `  hoist render --digest-source local -o manifests.yaml && hoist apply manifests.yaml
  hoist render --offline --digest-source tag -p prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := runOptions(deploy.cluster(run), s, logger())
			render.Manifests = s.Out
			if render.Output == "" && !cmd.Flags().Changed("event-format") {
				o.Out = io.Discard
			}
			return session.Render(cmd.Context(), o, build.options(cmd), deploy.options(cmd), render)
		},
	}
	addRunFlags(cmd, &run)
	build.add(cmd)
	deploy.add(cmd, false)
	deploy.addLabels(cmd)
	addArtifactsFlags(cmd, &render.Artifacts, "render")
	f := cmd.Flags()
	f.StringVarP(&render.Output, "output", "o", "", "write the manifests to this file instead of standard output")
	f.StringVar(&render.DigestSource, "digest-source", session.DigestRemote, "where the images' references come from: remote, local, tag or none")
	f.BoolVar(&render.Offline, "offline", false, "render without reading the cluster's settings: objects that name no namespace keep none")
	return cmd
}

func newApply(s Streams, logger func() *slog.Logger) *cobra.Command {
	var (
		run    session.Options
		deploy deployFlags
	)
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Deploy manifests rendered earlier (hoist render) and wait until healthy",
		Example: `  hoist render --digest-source local -o manifests.yaml
  hoist apply manifests.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			return session.Apply(cmd.Context(), runOptions(deploy.cluster(run), s, logger()), deploy.options(cmd), files)
		},
	}
	addRunFlags(cmd, &run)
	addServerFlags(cmd, &run.Server)
	deploy.add(cmd, true)
	deploy.addLabels(cmd)
	return cmd
}
