package filesync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
)

// Item is one sync of one artifact: the files to copy, each with its
// paths in the container, and the paths to delete there.
type Item struct {
	// Copy maps a local file (an absolute path) to its absolute paths in
	// the container.
	Copy map[string][]string
	// Delete are the absolute paths in the container of files deleted
	// locally, sorted.
	Delete []string
}

// Files counts the local files the item copies or deletes.
func (it *Item) Files() int {
	return len(it.Copy) + len(it.Delete)
}

// Enabled tells whether a has sync rules hoist applies: sync.manual or
// sync.infer. sync.auto is for Skaffold's jib and buildpacks builders,
// which hoist does not have; for a Docker or custom build Skaffold syncs
// nothing with it, and neither does hoist.
func Enabled(a *config.Artifact) bool {
	return a.Sync != nil && (len(a.Sync.Manual) > 0 || len(a.Sync.Infer) > 0)
}

// Plan returns how to sync changed (absolute paths of files changed in a's
// context) into a's containers. It fails, and the caller rebuilds, when
// one of them cannot be synced: a has no sync rules, a file is outside the
// context, is the Dockerfile or its .dockerignore, or matches no rule, or,
// for sync.infer, the Dockerfile does not copy it to a known place or it
// was deleted (as Skaffold, which rebuilds then too).
func Plan(a *config.Artifact, changed []string) (*Item, error) {
	if !Enabled(a) {
		return nil, fmt.Errorf("artifact %q has no sync rules", a.ImageName)
	}
	if len(changed) == 0 {
		return nil, errors.New("no changed files")
	}
	var copies []copyRule
	if len(a.Sync.Infer) > 0 {
		var err error
		if copies, err = inferRules(a); err != nil {
			return nil, err
		}
	}
	// A relative dest is relative to the image's WORKDIR, read once.
	wd := "/"
	if slices.ContainsFunc(a.Sync.Manual, func(r *config.SyncRule) bool { return !path.IsAbs(r.Dest) }) {
		wd = workdir(a)
	}
	buildFiles := buildFiles(a)
	it := &Item{Copy: map[string][]string{}}
	for _, f := range changed {
		rel, err := filepath.Rel(a.Context, f)
		if err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("%s is outside the context of %q", f, a.ImageName)
		}
		if slices.Contains(buildFiles, f) {
			return nil, fmt.Errorf("%s tells how %q is built", rel, a.ImageName)
		}
		rel = filepath.ToSlash(rel)
		st, err := os.Lstat(f)
		deleted := errors.Is(err, fs.ErrNotExist)
		switch {
		case err != nil && !deleted:
			return nil, err
		case err == nil && st.IsDir():
			// Its files are changes of their own.
			continue
		}
		var dests []string
		if len(a.Sync.Manual) > 0 {
			dests = manualDestinations(a.Sync.Manual, rel, wd)
		} else {
			if !slices.ContainsFunc(a.Sync.Infer, func(g string) bool { return Match(g, rel) }) {
				return nil, fmt.Errorf("%s matches no sync.infer pattern of %q", rel, a.ImageName)
			}
			if deleted {
				return nil, fmt.Errorf("%s was deleted, and sync.infer rebuilds then", rel)
			}
			if dests, err = inferredDestinations(copies, rel); err != nil {
				return nil, err
			}
		}
		if len(dests) == 0 {
			return nil, fmt.Errorf("%s matches no sync rule of %q", rel, a.ImageName)
		}
		if deleted {
			it.Delete = append(it.Delete, dests...)
		} else {
			it.Copy[f] = dests
		}
	}
	if it.Files() == 0 {
		return nil, errors.New("no changed files")
	}
	slices.Sort(it.Delete)
	it.Delete = slices.Compact(it.Delete)
	return it, nil
}

// manualDestinations are the paths in the container of rel, a file in the
// context, under the rules that match it: dest (relative to workdir when
// it is relative) joined with rel less strip.
func manualDestinations(rules []*config.SyncRule, rel, workdir string) []string {
	var out []string
	for _, r := range rules {
		if !Match(r.Src, rel) {
			continue
		}
		dest := r.Dest
		if !path.IsAbs(dest) {
			dest = path.Join(workdir, dest)
		}
		d := path.Join(dest, strings.TrimPrefix(rel, r.Strip))
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// buildFiles are the files that tell how a is built, which a sync cannot
// apply: its Dockerfile and .dockerignore files.
func buildFiles(a *config.Artifact) []string {
	df := dockerfile(a)
	if df == "" {
		return nil
	}
	return []string{df, df + ".dockerignore", filepath.Join(a.Context, ".dockerignore")}
}

// dockerfile is the absolute path of a's Dockerfile, for a Docker build or
// a custom one whose dependencies name one; "" otherwise.
func dockerfile(a *config.Artifact) string {
	switch {
	case a.Docker != nil:
		return build.DockerfilePath(a)
	case a.Custom != nil && a.Custom.Dependencies != nil && a.Custom.Dependencies.Dockerfile != nil:
		p := a.Custom.Dependencies.Dockerfile.Path
		if p == "" {
			p = "Dockerfile"
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(a.Context, p)
		}
		return p
	}
	return ""
}
