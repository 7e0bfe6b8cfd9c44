package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/cache"
	"github.com/hoist-dev/hoist/internal/build/custom"
	"github.com/hoist-dev/hoist/internal/build/docker"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
)

type buildOptions struct {
	config      configOptions
	events      eventOptions
	defaultRepo string
	push        bool
	pushSet     bool
	tag         string
	fileOutput  string
	useCache    bool
	cacheFile   string
}

func newBuild(s Streams, logger func() *slog.Logger) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build every artifact (and push it, if configured) and report each step as events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.pushSet = cmd.Flags().Changed("push")
			return runBuild(cmd.Context(), s, logger(), o)
		},
	}
	o.addFlags(cmd)
	o.events.addServerFlags(cmd)
	return cmd
}

func (o *buildOptions) addFlags(cmd *cobra.Command) {
	o.config.addFlags(cmd)
	o.events.addFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.defaultRepo, "default-repo", "d", os.Getenv("SKAFFOLD_DEFAULT_REPO"), "prefix image names with this registry/repository")
	f.BoolVar(&o.push, "push", false, "push the built images (default from build.local.push)")
	f.StringVarP(&o.tag, "tag", "t", "", "tag every image with this tag instead of the tag policy's")
	f.StringVar(&o.fileOutput, "file-output", "", "write the built artifacts to this file as JSON, for hoist deploy --build-artifacts")
	f.BoolVar(&o.useCache, "cache-artifacts", true, "skip building artifacts whose inputs are unchanged and whose image still exists")
	f.StringVar(&o.cacheFile, "cache-file", cache.DefaultPath(), "where the artifact cache is kept")
}

func runBuild(ctx context.Context, s Streams, log *slog.Logger, o *buildOptions) error {
	ss, cfg, err := begin(ctx, s, log, "build", o.config.filename, o.events)
	if ss == nil {
		return err
	}
	if err != nil {
		return ss.finish(err)
	}
	results, err := buildAll(ctx, ss, log, cfg, o, cfg.Build.Artifacts)
	if err == nil && o.fileOutput != "" {
		err = writeBuildOutput(o.fileOutput, results)
	}
	return ss.finish(err)
}

// buildAll builds artifacts of a config on the session's bus.
func buildAll(ctx context.Context, ss *session, log *slog.Logger, cfg *config.Config, o *buildOptions, artifacts []*config.Artifact) ([]build.Result, error) {
	push := cfg.Push()
	if o.pushSet {
		push = o.push
	}
	if o.tag != "" && !validTagFlag(o.tag) {
		return nil, usageError("--tag %q is not a valid image tag", o.tag)
	}
	store := &images{}
	env := tag.Env()
	builds := &runner.Builds{
		Bus:         ss.bus,
		Tagger:      &tag.Tagger{Policy: cfg.Build.TagPolicy, Env: env},
		DefaultRepo: o.defaultRepo,
		Tag:         o.tag,
		Concurrency: cfg.Concurrency(),
		Push:        push,
		Reuser:      store,
		Log:         log,
		BuilderFor: func(a *config.Artifact) (build.Builder, error) {
			if a.Custom != nil {
				return &custom.Builder{Push: push, Digester: store}, nil
			}
			c, err := store.client()
			if err != nil {
				return nil, err
			}
			return &docker.Builder{Client: c, Push: push, Env: env,
				UseBuildkit: cfg.Build.Local.UseBuildkit != nil && *cfg.Build.Local.UseBuildkit}, nil
		},
	}
	if o.useCache {
		c, err := cache.Open(o.cacheFile)
		if err != nil {
			log.Warn("artifact cache", "err", err)
		}
		builds.Cache = c
	}
	return builds.Run(ctx, artifacts)
}

func validTagFlag(t string) bool { return t != "" && !strings.ContainsAny(t, ":/@ ") }

// buildOutput is the --file-output format, Skaffold's: each image with the
// reference to deploy, by digest when it was pushed.
type buildOutput struct {
	Builds []builtImage `json:"builds"`
}

type builtImage struct {
	ImageName string `json:"imageName"`
	Tag       string `json:"tag"`
}

func writeBuildOutput(path string, results []build.Result) error {
	out := buildOutput{Builds: []builtImage{}}
	for _, r := range results {
		ref := r.Tag
		if r.Pushed && r.Digest != "" {
			ref += "@" + r.Digest
		}
		out.Builds = append(out.Builds, builtImage{ImageName: r.ImageName, Tag: ref})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = os.WriteFile(path, append(data, '\n'), 0o644)
		}
	}
	if err != nil {
		return fault.Wrap(err, fault.UsageInvalid, "writing --file-output", "check that the folder is writable")
	}
	return nil
}
