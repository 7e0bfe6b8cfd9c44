package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// Dependencies returns the files an artifact's build reads, as paths
// relative to its context, sorted: for docker, the context after
// .dockerignore plus the Dockerfile; for custom, dependencies.paths minus
// dependencies.ignore, or the whole context when no paths are given.
func Dependencies(a *config.Artifact) ([]string, error) {
	st, err := os.Stat(a.Context)
	if err != nil || !st.IsDir() {
		return nil, fault.New(fault.BuildContextMissing,
			fmt.Sprintf("build context %s of artifact %q does not exist or is not a folder", a.Context, a.ImageName),
			"fix build.artifacts[].context in skaffold.yaml; it is relative to the config file")
	}
	var include, exclude []string
	dockerfile := ""
	switch {
	case a.Docker != nil:
		dockerfile = a.Docker.Dockerfile
	case a.Custom != nil && a.Custom.Dependencies != nil && a.Custom.Dependencies.Command != "":
		return commandDependencies(a)
	case a.Custom != nil && a.Custom.Dependencies != nil && a.Custom.Dependencies.Dockerfile != nil:
		dockerfile = a.Custom.Dependencies.Dockerfile.Path
	case a.Custom != nil && a.Custom.Dependencies != nil:
		include = a.Custom.Dependencies.Paths
		exclude = a.Custom.Dependencies.Ignore
	}
	if dockerfile != "" {
		if exclude, err = dockerignore(a.Context, dockerfile); err != nil {
			return nil, err
		}
	}
	var inc, exc *patternmatcher.PatternMatcher
	if len(include) > 0 {
		if inc, err = patternmatcher.New(include); err != nil {
			return nil, fmt.Errorf("artifact %q: dependencies.paths: %w", a.ImageName, err)
		}
	}
	if len(exclude) > 0 {
		if exc, err = patternmatcher.New(exclude); err != nil {
			return nil, fmt.Errorf("artifact %q: ignore patterns: %w", a.ImageName, err)
		}
	}
	var files []string
	err = filepath.WalkDir(a.Context, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.Context, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if exc != nil {
			skip, err := exc.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			// A folder is skipped whole unless a "!" pattern may bring
			// back something inside it.
			if skip && d.IsDir() && !exc.Exclusions() {
				return filepath.SkipDir
			}
			if skip && !d.IsDir() {
				return nil
			}
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if inc != nil {
			ok, err := inc.MatchesOrParentMatches(rel)
			if err != nil || !ok {
				return err
			}
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing inputs of artifact %q: %w", a.ImageName, err)
	}
	if dockerfile != "" {
		df := dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(a.Context, df)
		}
		if _, err := os.Stat(df); err != nil {
			return nil, fault.New(fault.BuildDockerfileMissing,
				fmt.Sprintf("Dockerfile %s of artifact %q not found", df, a.ImageName),
				"fix build.artifacts[].docker.dockerfile; it is relative to the artifact's context")
		}
		if rel, err := filepath.Rel(a.Context, df); err == nil && !slices.Contains(files, filepath.ToSlash(rel)) {
			files = append(files, filepath.ToSlash(rel))
		}
	}
	sort.Strings(files)
	return files, nil
}

// DockerfilePath returns the absolute path of a docker artifact's Dockerfile.
func DockerfilePath(a *config.Artifact) string {
	if filepath.IsAbs(a.Docker.Dockerfile) {
		return a.Docker.Dockerfile
	}
	return filepath.Join(a.Context, a.Docker.Dockerfile)
}

// dockerignore reads the patterns of <Dockerfile>.dockerignore or
// .dockerignore, as the docker CLI does.
func dockerignore(context, dockerfile string) ([]string, error) {
	for _, name := range []string{dockerfile + ".dockerignore", ".dockerignore"} {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(context, p)
		}
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patterns, err := ignorefile.ReadAll(f)
		if err = errors.Join(err, f.Close()); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// InputDigest returns a sha256 over an artifact's inputs: every dependency's
// path and content, and for docker the Dockerfile path, target and build
// arguments (after templating). Unchanged inputs give the same digest.
func InputDigest(a *config.Artifact, buildArgs map[string]*string) (string, error) {
	files, err := Dependencies(a)
	if err != nil {
		return "", err
	}
	// The fields are formatted with fmt.Appendf and written with h.Write,
	// which by hash.Hash's contract never returns an error.
	h := sha256.New()
	for _, rel := range files {
		h.Write(fmt.Appendf(nil, "file %s\x00", rel))
		f, err := os.Open(filepath.Join(a.Context, filepath.FromSlash(rel)))
		if err != nil {
			return "", fmt.Errorf("hashing inputs of %q: %w", a.ImageName, err)
		}
		_, err = io.Copy(h, f)
		if err = errors.Join(err, f.Close()); err != nil {
			return "", fmt.Errorf("hashing inputs of %q: %w", a.ImageName, err)
		}
		h.Write([]byte{0})
	}
	if d := a.Docker; d != nil {
		h.Write(fmt.Appendf(nil, "dockerfile %s\x00target %s\x00", d.Dockerfile, d.Target))
		keys := make([]string, 0, len(buildArgs))
		for k := range buildArgs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := "<nil>"
			if buildArgs[k] != nil {
				v = *buildArgs[k]
			}
			h.Write(fmt.Appendf(nil, "arg %s=%s\x00", k, v))
		}
	}
	if c := a.Custom; c != nil {
		h.Write(fmt.Appendf(nil, "command %s\x00", strings.TrimSpace(c.BuildCommand)))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// commandDependencies runs a custom build's dependencies.command in its
// context: it prints the build's inputs as a JSON list of paths, relative
// to the context.
func commandDependencies(a *config.Artifact) ([]string, error) {
	cmd := exec.Command("/bin/sh", "-c", a.Custom.Dependencies.Command)
	cmd.Dir = a.Context
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fault.Wrap(err, fault.BuildCustomCommandFail,
			fmt.Sprintf("the dependencies command %q of %q failed: %s", a.Custom.Dependencies.Command, a.ImageName, strings.TrimSpace(stderr.String())),
			"run it by hand in the artifact's context; it prints a JSON list of paths")
	}
	var files []string
	if err := json.Unmarshal(out, &files); err != nil {
		return nil, fault.New(fault.BuildCustomCommandFail,
			fmt.Sprintf("the dependencies command %q of %q printed %q, not a JSON list of paths", a.Custom.Dependencies.Command, a.ImageName, truncate(string(out), 200)),
			`print the inputs as ["path", ...], relative to the artifact's context`)
	}
	for i, f := range files {
		if filepath.IsAbs(f) {
			if rel, err := filepath.Rel(a.Context, f); err == nil {
				f = rel
			}
		}
		files[i] = filepath.ToSlash(filepath.Clean(f))
	}
	sort.Strings(files)
	return slices.Compact(files), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// DeclaredArgs are the names the Dockerfile at path declares with ARG, in
// any stage; an unreadable Dockerfile declares none (its build says why).
func DeclaredArgs(path string) map[string]bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	// Continuation lines join their instruction, as the parser joins them.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.EqualFold(fields[0], "ARG") {
			continue
		}
		for _, f := range fields[1:] {
			name, _, _ := strings.Cut(f, "=")
			out[name] = true
		}
	}
	return out
}

// TestDependencies returns the files the custom tests of tc read, as
// absolute paths: each test's dependencies.paths less ignore, or what its
// dependencies.command prints, under the tests' context. Tests without
// dependencies have none: only a new image runs them again.
func TestDependencies(tc *config.TestCase) ([]string, error) {
	var out []string
	for _, ct := range tc.Custom {
		d := ct.Dependencies
		if d == nil || (d.Command == "" && len(d.Paths) == 0) {
			continue
		}
		files, err := Dependencies(&config.Artifact{ImageName: tc.Image + " (tests)", Context: tc.Context,
			Custom: &config.CustomArtifact{Dependencies: &config.CustomDependencies{Command: d.Command, Paths: d.Paths, Ignore: d.Ignore}}})
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out = append(out, filepath.Join(tc.Context, filepath.FromSlash(f)))
		}
	}
	return out, nil
}
