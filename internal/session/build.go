package session

import (
	"context"
	"strings"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/cache"
	"github.com/hoist-dev/hoist/internal/build/custom"
	"github.com/hoist-dev/hoist/internal/build/docker"
	"github.com/hoist-dev/hoist/internal/build/reuse"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/runner"
)

// BuildOptions choose how artifacts are built.
type BuildOptions struct {
	// DefaultRepo prefixes image names with a registry/repository.
	DefaultRepo string
	// Push, when set, overrides build.local.push.
	Push *bool
	// Tag, when set, replaces the tag policy's tag.
	Tag string
	// ArtifactsFile, when set, receives the built artifacts, for Deploy.
	ArtifactsFile string
	// UseCache skips artifacts whose inputs are unchanged and whose image
	// still exists; CacheFile is where that is kept.
	UseCache  bool
	CacheFile string
	// SkipTests leaves out the tests between the build and the deploy of
	// run and dev.
	SkipTests bool
}

var (
	_ runner.Reuser   = (*reuse.Images)(nil)
	_ custom.Digester = (*reuse.Images)(nil)
)

// Build builds every artifact of the config, pushes them if asked, and
// writes the artifacts file if asked.
func Build(ctx context.Context, o Options, b BuildOptions) error {
	return run(ctx, o, "build", false, func(ctx context.Context, s *session) error {
		_, err := s.buildAll(ctx, b)
		return err
	})
}

// buildAll builds the config's artifacts and writes the artifacts file if
// asked.
func (s *session) buildAll(ctx context.Context, b BuildOptions) ([]build.Result, error) {
	results, err := s.build(ctx, s.cfg, b, s.cfg.Build.Artifacts)
	if err == nil && b.ArtifactsFile != "" {
		err = build.WriteArtifacts(b.ArtifactsFile, results)
	}
	return results, err
}

// build builds artifacts of cfg on the run's bus.
func (s *session) build(ctx context.Context, cfg *config.Config, b BuildOptions, artifacts []*config.Artifact) ([]build.Result, error) {
	push := cfg.Push()
	if b.Push != nil {
		push = *b.Push
	}
	if b.Tag != "" && !validTag(b.Tag) {
		return nil, usageError("--tag %q is not a valid image tag", b.Tag)
	}
	images := &reuse.Images{Insecure: cfg.Build.InsecureRegistries, TryImportMissing: cfg.Build.Local.TryImportMissing}
	env := tag.Env()
	builds := &runner.Builds{
		Bus:         s.bus,
		Tagger:      &tag.Tagger{Policy: cfg.Build.TagPolicy, Env: env},
		DefaultRepo: b.DefaultRepo,
		Tag:         b.Tag,
		Concurrency: cfg.Concurrency(),
		Push:        push,
		Reuser:      images,
		Log:         s.log,
		Hooks:       cfg.Build.Hooks,
		HookOut:     s.errOut,
		Dir:         cfg.Dir,
		BuilderFor: func(a *config.Artifact) (build.Builder, error) {
			if a.Custom != nil {
				return &custom.Builder{Push: push, Digester: images}, nil
			}
			c, err := images.Client()
			if err != nil {
				return nil, err
			}
			return &docker.Builder{Client: c, Push: push, Env: env,
				UseBuildkit: cfg.Build.Local.UseBuildkit != nil && *cfg.Build.Local.UseBuildkit,
				UseCLI:      cfg.Build.Local.UseDockerCLI}, nil
		},
	}
	if b.UseCache {
		c, err := cache.Open(b.CacheFile)
		if err != nil {
			s.log.Warn("artifact cache", "err", err)
		}
		builds.Cache = c
	}
	return builds.Run(ctx, artifacts)
}

func validTag(t string) bool { return t != "" && !strings.ContainsAny(t, ":/@ ") }
