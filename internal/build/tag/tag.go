// Package tag computes the tags of built images from the configured tag
// policy, as Skaffold documents them, and applies --default-repo.
package tag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// Env is the environment templates see, as a map.
func Env() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Tagger computes tags.
type Tagger struct {
	Policy config.TagPolicy
	// Now is the build time, for dateTime.
	Now func() time.Time
	// Env is the environment for envTemplate and build arguments.
	Env map[string]string
}

// Tag returns the tag (the part after ':') for artifact a.
func (t *Tagger) Tag(ctx context.Context, a *config.Artifact) (string, error) {
	tag, _, err := t.TagWithNote(ctx, a)
	return tag, err
}

// TagWithNote is Tag, with a note for the user when the policy could not
// be followed as written: outside a git repository (or one without a
// commit), gitCommit falls back to the checksum of the artifact's inputs,
// as inputDigest computes it, much as Skaffold falls back to its checksum
// tagger.
func (t *Tagger) TagWithNote(ctx context.Context, a *config.Artifact) (tag, note string, err error) {
	p := t.Policy
	switch {
	case p.CustomTemplate != nil:
		tag, note, err = t.customTemplate(ctx, a, p.CustomTemplate)
	case p.Sha256 != nil:
		tag = "latest"
	case p.DateTime != nil:
		tag, err = t.dateTime(p.DateTime)
	case p.EnvTemplate != nil:
		tag, err = Template(p.EnvTemplate.Template, t.Env)
	case p.InputDigest != nil:
		var args map[string]*string
		if a.Docker != nil {
			args, err = BuildArgs(a.Docker.BuildArgs, t.Env)
		}
		if err == nil {
			tag, err = build.InputDigest(a, args)
		}
	default:
		tag, err = gitCommit(ctx, p.GitCommit, a.Context)
		var noGit *noGitError
		if errors.As(err, &noGit) {
			note = fmt.Sprintf("the gitCommit tag policy needs a git commit, and %s; tagging %s with the checksum of its inputs instead (set build.tagPolicy to choose)",
				noGit.why, a.ImageName)
			fallback := *t
			fallback.Policy = config.TagPolicy{InputDigest: &config.InputDigestTagger{}}
			tag, _, err = fallback.TagWithNote(ctx, a)
		}
	}
	if err != nil {
		if fault.As(err) != nil {
			return "", "", err
		}
		return "", "", fault.Wrap(err, fault.TagFailed,
			fmt.Sprintf("computing the tag of %q", a.ImageName), "check build.tagPolicy in skaffold.yaml")
	}
	if !validTag(tag) {
		return "", "", fault.New(fault.TagFailed,
			fmt.Sprintf("tag %q of %q is not a valid image tag", tag, a.ImageName),
			"a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")
	}
	return tag, note, nil
}

// customTemplate fills the template with the components' tags: GIT,
// DATE, SHA and INPUT_DIGEST by default, each computed only when the
// template uses it.
func (t *Tagger) customTemplate(ctx context.Context, a *config.Artifact, ct *config.CustomTemplateTagger) (string, string, error) {
	components := map[string]config.TagPolicy{
		"GIT":          {GitCommit: &config.GitCommitTagger{Variant: "Tags"}},
		"DATE":         {DateTime: &config.DateTimeTagger{}},
		"SHA":          {Sha256: &config.Sha256Tagger{}},
		"INPUT_DIGEST": {InputDigest: &config.InputDigestTagger{}},
	}
	for _, c := range ct.Components {
		components[c.Name] = c.TagPolicy
	}
	values := map[string]string{}
	var notes []string
	for name, policy := range components {
		if !strings.Contains(ct.Template, "."+name) {
			continue
		}
		sub := *t
		sub.Policy = policy
		v, note, err := sub.TagWithNote(ctx, a)
		if err != nil {
			return "", "", fmt.Errorf("component %s of the custom template: %w", name, err)
		}
		values[name] = v
		if note != "" {
			notes = append(notes, note)
		}
	}
	tag, err := Template(ct.Template, values)
	return tag, strings.Join(notes, "; "), err
}

// noGitError is gitCommit's failure for want of a commit to tag with.
type noGitError struct {
	why string
	err error
}

func (e *noGitError) Error() string { return e.why + ": " + e.err.Error() }
func (e *noGitError) Unwrap() error { return e.err }

func validTag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (t *Tagger) dateTime(d *config.DateTimeTagger) (string, error) {
	format := d.Format
	if format == "" {
		format = "2006-01-02_15-04-05.999_MST"
	}
	loc := time.Local
	if d.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(d.TimeZone); err != nil {
			return "", fmt.Errorf("dateTime timezone: %w", err)
		}
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	return now().In(loc).Format(format), nil
}

// Template executes a Go template over the environment. A variable that is
// not set is an error.
func Template(text string, env map[string]string) (string, error) {
	tmpl, err := template.New("tag").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("parsing template %q: %w", text, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, env); err != nil {
		return "", fmt.Errorf("template %q: %w", text, err)
	}
	return b.String(), nil
}

// BuildArgs templates build argument values over the environment.
func BuildArgs(args map[string]*string, env map[string]string) (map[string]*string, error) {
	out := make(map[string]*string, len(args))
	for k, v := range args {
		if v == nil {
			// Like docker build --build-arg K: the value comes from the
			// environment, if set.
			if e, ok := env[k]; ok {
				out[k] = &e
			} else {
				out[k] = nil
			}
			continue
		}
		s, err := Template(*v, env)
		if err != nil {
			return nil, fault.Wrap(err, fault.ConfigInvalid,
				fmt.Sprintf("build argument %s", k), "set the environment variable it uses, or change buildArgs")
		}
		out[k] = &s
	}
	return out, nil
}

// gitCommit implements the gitCommit policy for the context folder.
func gitCommit(ctx context.Context, g *config.GitCommitTagger, dir string) (string, error) {
	if g == nil {
		g = &config.GitCommitTagger{Variant: "Tags"}
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return "", &noGitError{why: "git is not installed", err: err}
	}
	if _, err := git("rev-parse", "--is-inside-work-tree"); err != nil {
		return "", &noGitError{why: dir + " is not in a git repository", err: err}
	}
	if _, err := git("rev-parse", "--verify", "HEAD"); err != nil {
		return "", &noGitError{why: "the git repository of " + dir + " has no commit yet", err: err}
	}
	var tag string
	var err error
	switch g.Variant {
	case "CommitSha":
		tag, err = git("rev-parse", "HEAD")
	case "AbbrevCommitSha":
		tag, err = git("rev-parse", "--short", "HEAD")
	case "TreeSha", "AbbrevTreeSha":
		var prefix string
		prefix, err = git("rev-parse", "--show-prefix")
		if err == nil {
			tag, err = git("rev-parse", "HEAD:"+filepath.ToSlash(prefix))
		}
		if err == nil && g.Variant == "AbbrevTreeSha" && len(tag) > 7 {
			tag = tag[:7]
		}
	default:
		tag, err = git("describe", "--tags", "--always")
	}
	if err != nil {
		return "", err
	}
	if !g.IgnoreChanges {
		status, err := git("status", "--porcelain", "--", ".")
		if err != nil {
			return "", err
		}
		if status != "" {
			tag += "-dirty"
		}
	}
	return g.Prefix + tag, nil
}

// Name applies --default-repo to an image name, following Skaffold: a name
// already under the default repo stays; otherwise the repo is prefixed, and
// for registries other than GCR and Artifact Registry the name is escaped
// into one path component.
func Name(image, defaultRepo string) string {
	repo := strings.TrimSuffix(defaultRepo, "/")
	if repo == "" || image == repo || strings.HasPrefix(image, repo+"/") {
		return image
	}
	if strings.HasPrefix(repo, "gcr.io/") || strings.Contains(repo, "-docker.pkg.dev/") || !strings.Contains(image, "/") {
		return repo + "/" + image
	}
	return repo + "/" + strings.NewReplacer("/", "_", ".", "_", ":", "_").Replace(image)
}
