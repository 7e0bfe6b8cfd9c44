package filesync

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
)

// copyRule is one source of a COPY or ADD instruction of the final stage
// that copies from the build context.
type copyRule struct {
	// Src is the source, relative to the context, cleaned: a path or a
	// pattern (path.Match's syntax).
	Src string
	// Dest is the absolute destination in the image; "" when it is
	// relative to a working folder hoist cannot know (the base image's).
	Dest string
	// DestIsDir tells that a file is copied into Dest rather than as Dest.
	DestIsDir bool
	// Exclude are the instruction's --exclude patterns.
	Exclude []string
	// Unknown tells that the files it copies cannot be synced: ADD of an
	// archive (which ADD unpacks) or COPY --parents.
	Unknown bool
	// Line is the instruction's line in the Dockerfile.
	Line int
}

// inferRules reads the COPY and ADD instructions of a's Dockerfile.
func inferRules(a *config.Artifact) ([]copyRule, error) {
	st, err := readFinalStage(a)
	if err != nil {
		return nil, err
	}
	return st.rules, nil
}

// workdir is the WORKDIR of a's image, as its Dockerfile sets it, which a
// relative sync.manual dest is relative to, as in Skaffold; "/" when the
// Dockerfile sets none (hoist does not read the base image's) or a has
// none.
func workdir(a *config.Artifact) string {
	if dockerfile(a) == "" {
		return "/"
	}
	st, err := readFinalStage(a)
	if err != nil || st.workdir == "" {
		return "/"
	}
	return st.workdir
}

// readFinalStage reads a's Dockerfile's final stage, its build arguments
// expanded.
func readFinalStage(a *config.Artifact) (*stageState, error) {
	df := dockerfile(a)
	if df == "" {
		return nil, fmt.Errorf("sync.infer of %q needs a Dockerfile: a docker build, or custom dependencies.dockerfile", a.ImageName)
	}
	data, err := os.ReadFile(df)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile of %q: %w", a.ImageName, err)
	}
	var raw map[string]*string
	target := ""
	switch {
	case a.Docker != nil:
		raw, target = a.Docker.BuildArgs, a.Docker.Target
	case a.Custom != nil:
		raw = a.Custom.Dependencies.Dockerfile.BuildArgs
	}
	// A build argument whose template cannot be filled leaves the ARG's
	// default: the build reports it, and it rarely names a COPY's path.
	args := map[string]*string{}
	env := tag.Env()
	for k, v := range raw {
		if one, err := tag.BuildArgs(map[string]*string{k: v}, env); err == nil {
			args[k] = one[k]
		}
	}
	st, err := finalStage(data, args, target)
	if err != nil {
		return nil, fmt.Errorf("the Dockerfile %s of %q: %w", df, a.ImageName, err)
	}
	return st, nil
}

// InferCopies returns what the COPY and ADD instructions of a Dockerfile's
// final stage (target's when set) copy from the build context, with the
// destinations they resolve to: ARG (with buildArgs over the defaults) and
// ENV are expanded, and a relative destination is resolved against the
// WORKDIR, inherited from earlier stages the stage builds on. COPY --from
// copies from another stage or image, not from the context, and is left
// out, as are ADD's URLs and git sources and heredocs.
func InferCopies(dockerfile []byte, buildArgs map[string]*string, target string) ([]copyRule, error) {
	st, err := finalStage(dockerfile, buildArgs, target)
	if err != nil {
		return nil, err
	}
	return st.rules, nil
}

// finalStage reads a Dockerfile's final stage (target's when set), after
// the stages it builds on: its copies and its WORKDIR.
func finalStage(dockerfile []byte, buildArgs map[string]*string, target string) (*stageState, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM instruction")
	}
	final := len(stages) - 1
	if target != "" {
		final = slices.IndexFunc(stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, target) })
		if final < 0 {
			return nil, fmt.Errorf("no stage named %q (docker.target)", target)
		}
	}
	// The global ARGs, which a stage sees once it declares them again.
	global := map[string]string{}
	lex := shell.NewLex(res.EscapeToken)
	for _, m := range metaArgs {
		for _, kv := range m.Args {
			global[kv.Key] = argValue(kv, buildArgs, lex, global)
		}
	}
	// The stages the final one builds on, from the first.
	chain := []int{final}
	for {
		base := stageIndex(stages, stages[chain[0]].BaseName, chain[0])
		if base < 0 {
			break
		}
		chain = append([]int{base}, chain...)
	}
	st := &stageState{env: map[string]string{}}
	for _, i := range chain {
		st.rules = nil
		for _, cmd := range stages[i].Commands {
			if err := st.apply(cmd, lex, buildArgs, global); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// stageIndex is the index of the earlier stage that name (a FROM's base)
// refers to by name or number, or -1 for an image.
func stageIndex(stages []instructions.Stage, name string, before int) int {
	for i := range before {
		if stages[i].Name != "" && strings.EqualFold(stages[i].Name, name) {
			return i
		}
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < before {
		return n
	}
	return -1
}

// stageState is what a stage's instructions have set so far.
type stageState struct {
	// workdir is the working folder; "" while it is the base image's,
	// which hoist does not read.
	workdir string
	// env holds the stage's ARG and ENV values.
	env   map[string]string
	rules []copyRule
}

func (st *stageState) expand(lex *shell.Lex, word string) (string, error) {
	keys := make([]string, 0, len(st.env))
	for k, v := range st.env {
		keys = append(keys, k+"="+v)
	}
	out, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(keys))
	return out, err
}

func (st *stageState) apply(cmd instructions.Command, lex *shell.Lex, buildArgs map[string]*string, global map[string]string) error {
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			if v, ok := global[kv.Key]; ok && kv.Value == nil {
				// A global ARG declared again, with its value (the build
				// argument's when given).
				st.env[kv.Key] = v
				continue
			}
			st.env[kv.Key] = argValue(kv, buildArgs, lex, st.env)
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			v, err := st.expand(lex, kv.Value)
			if err != nil {
				return err
			}
			st.env[kv.Key] = v
		}
	case *instructions.WorkdirCommand:
		p, err := st.expand(lex, c.Path)
		if err != nil {
			return err
		}
		st.workdir = st.resolve(p)
	case *instructions.CopyCommand:
		if c.From != "" {
			return nil
		}
		return st.copy(lex, c.SourcesAndDest, c.ExcludePatterns, c.Parents, false, c.Location())
	case *instructions.AddCommand:
		return st.copy(lex, c.SourcesAndDest, c.ExcludePatterns, false, true, c.Location())
	}
	return nil
}

// resolve makes p absolute against the working folder; "" when p is
// relative and the working folder unknown.
func (st *stageState) resolve(p string) string {
	switch {
	case path.IsAbs(p):
		return path.Clean(p)
	case st.workdir == "":
		return ""
	}
	return path.Join(st.workdir, p)
}

func (st *stageState) copy(lex *shell.Lex, sd instructions.SourcesAndDest, exclude []string, parents, add bool, loc []parser.Range) error {
	dest, err := st.expand(lex, sd.DestPath)
	if err != nil {
		return err
	}
	line := 0
	if len(loc) > 0 {
		line = loc[0].Start.Line
	}
	isDir := strings.HasSuffix(dest, "/") || path.Base(dest) == "." || path.Base(dest) == ".." || len(sd.SourcePaths) > 1
	abs := st.resolve(dest)
	for _, src := range sd.SourcePaths {
		s, err := st.expand(lex, src)
		if err != nil {
			return err
		}
		if add && remote(s) {
			continue
		}
		r := copyRule{Src: path.Clean(strings.TrimPrefix(s, "/")), Dest: abs, DestIsDir: isDir, Exclude: exclude, Line: line,
			Unknown: parents || (add && archive(s))}
		if r.Src == "" {
			r.Src = "."
		}
		st.rules = append(st.rules, r)
	}
	return nil
}

// argValue is the value of an ARG: the build argument when given, else its
// default, expanded with what is declared so far.
func argValue(kv instructions.KeyValuePairOptional, buildArgs map[string]*string, lex *shell.Lex, env map[string]string) string {
	if b, ok := buildArgs[kv.Key]; ok && b != nil {
		return *b
	}
	if kv.Value == nil {
		return ""
	}
	keys := make([]string, 0, len(env))
	for k, v := range env {
		keys = append(keys, k+"="+v)
	}
	v, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(keys))
	if err != nil {
		return *kv.Value
	}
	return v
}

// remote tells whether an ADD source is fetched rather than read from the
// context.
func remote(src string) bool {
	for _, p := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return false
}

// archive tells whether ADD would unpack src, by its name.
func archive(src string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".gz", ".bz2", ".xz"} {
		if strings.HasSuffix(strings.ToLower(src), ext) {
			return true
		}
	}
	return false
}

// inferredDestinations are the paths in the image that the rules copy rel,
// a file of the context, to; an error when a rule that copies it does so
// to a place hoist cannot tell.
func inferredDestinations(rules []copyRule, rel string) ([]string, error) {
	var out []string
	for _, r := range rules {
		d, ok := r.destination(rel)
		if !ok {
			continue
		}
		switch {
		case r.Unknown:
			return nil, fmt.Errorf("%s is copied by the Dockerfile's line %d, which hoist cannot mirror (ADD of an archive, or COPY --parents)", rel, r.Line)
		case r.Dest == "":
			return nil, fmt.Errorf("%s is copied by the Dockerfile's line %d to a folder relative to the base image's WORKDIR", rel, r.Line)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the Dockerfile does not copy %s into the image", rel)
	}
	return out, nil
}

// destination is where r copies rel, a file of the context, if it does:
// as the source itself, or as a file under a source folder.
func (r copyRule) destination(rel string) (string, bool) {
	for _, e := range r.Exclude {
		if Match(e, rel) {
			return "", false
		}
	}
	if r.Src == "." {
		return path.Join(r.Dest, rel), true
	}
	if ok, _ := path.Match(r.Src, rel); ok {
		if r.DestIsDir {
			return path.Join(r.Dest, path.Base(rel)), true
		}
		return r.Dest, true
	}
	// A folder the source names (or matches): its content is copied into
	// the destination.
	for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
		if ok, _ := path.Match(r.Src, dir); ok {
			sub := strings.TrimPrefix(rel, dir+"/")
			return path.Join(r.Dest, sub), true
		}
	}
	return "", false
}
