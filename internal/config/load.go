package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-dev/hoist/internal/fault"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Load reads the config file at path, and the configs it requires, with
// the profiles o chooses, and merges them into one Config whose relative
// paths are absolute, each against its own config's folder. A root file
// that cannot be read is a *fault.Error with code CONFIG_NOT_FOUND; every
// other problem is one of the configs', as Parse reports them.
func Load(path string, o Options) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fault.Wrap(err, fault.ConfigNotFound, "resolving config path")
	}
	data, err := os.ReadFile(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fault.New(fault.ConfigNotFound,
			fmt.Sprintf("config file %s not found", path),
			"run hoist in the folder that holds skaffold.yaml, or pass -f path/to/skaffold.yaml")
	}
	if err != nil {
		return nil, fault.Wrap(err, fault.ConfigNotFound, "reading config")
	}
	l := &loader{o: o, root: path, seen: map[string]*Config{}, visiting: map[string]bool{}, profiles: map[string]bool{}}
	cfgs, _, errs, err := l.file(abs, path, data, nil, o.Profiles, nil)
	if err != nil {
		return nil, err
	}
	errs = append(errs, l.unmatchedProfiles(path)...)
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	if cfgs, err = modules(path, cfgs, o.Modules); err != nil {
		return nil, err
	}
	cfg, merrs := merge(abs, cfgs)
	if len(merrs) > 0 {
		return nil, invalid(merrs...)
	}
	return cfg, nil
}

// Parse reads config data; name is the file name in error positions.
// Relative paths are left as written (Load resolves them). Each document is
// decoded, converted, given its defaults and validated, then the documents
// are merged. A YAML syntax error stops Parse, and a document that does not
// decode is not checked further; every other problem of every document is
// reported, all in one *fault.Error with code CONFIG_INVALID (or
// CONFIG_UNSUPPORTED when each is a Skaffold field hoist does not support
// yet) whose message holds one file:line:column: path: message a line.
func Parse(name string, data []byte) (*Config, error) {
	return ParseWith(name, data, Options{})
}

// ParseWith is Parse with the profiles o chooses applied to each document:
// a document is decoded as written (every profile must be valid, used or
// not), its active profiles are laid over it and patch it, and the result
// is decoded again, so that what a profile put there is located where the
// profile wrote it.
func ParseWith(name string, data []byte, o Options) (*Config, error) {
	l := &loader{o: o, root: name, profiles: map[string]bool{}}
	cfgs, errs, err := l.parse(name, data, o.Profiles)
	if err != nil {
		return nil, err
	}
	errs = append(errs, l.unmatchedProfiles(name)...)
	var cfg *Config
	if len(cfgs) > 0 && len(errs) == 0 {
		var merrs []*Error
		cfg, merrs = merge(name, cfgs)
		errs = append(errs, merrs...)
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	return cfg, nil
}

// parse reads each document of data (name is its file, for errors) with
// the given -p names, and returns its configs in document order.
func (l *loader) parse(name string, data []byte, profiles []string) ([]*Config, []*Error, error) {
	o := l.o
	o.Profiles = profiles
	var (
		cfgs []*Config
		errs []*Error
	)
	docs, uerrs := upgraded(name, data)
	errs = append(errs, uerrs...)
	for _, u := range docs {
		root, written, notes := u.root, u.written, u.notes
		doc, d, err := decodeDocument(name, root.Content[0])
		if err != nil {
			return nil, nil, err
		}
		if d == nil {
			errs = append(errs, doc.err)
			continue
		}
		for _, p := range doc.Profiles {
			l.profiles[p.Name] = true
		}
		var applied []string
		if len(doc.Profiles) > 0 {
			active, perrs := activeProfiles(doc.Profiles, o, d.at)
			for _, i := range active {
				applied = append(applied, doc.Profiles[i].Name)
			}
			perrs = append(perrs, applyProfiles(root.Content[0], &doc.document, active, d.at)...)
			if len(perrs) > 0 {
				errs = append(errs, perrs...)
				continue
			}
			if doc, d, err = decodeDocument(name, root.Content[0]); err != nil {
				return nil, nil, err
			}
			if d == nil {
				errs = append(errs, doc.err)
				continue
			}
		}
		cfg, cerrs := convert(&doc.document, d.at)
		errs = append(errs, cerrs...)
		if cfg == nil {
			continue
		}
		cfg.Profiles = applied
		cfg.APIVersion = written
		cfg.Notes = notes
		cfg.requires = doc.Requires
		cfg.at = d.at
		setDefaults(cfg)
		errs = append(errs, validate(cfg, d.at)...)
		errs = append(errs, structureTests(cfg, o.Command, d.at)...)
		cfgs = append(cfgs, cfg)
	}
	if len(cfgs) == 0 && len(errs) == 0 {
		errs = append(errs, &Error{File: name, Line: 1, Column: 1,
			Message: "the file holds no config", Hint: "start it with apiVersion: " + LatestVersion + " and kind: Config"})
	}
	return cfgs, errs, nil
}

// upgradedDocument is one document of a file, upgraded to the latest
// apiVersion: its root node, the apiVersion it was written in and the
// notes of what the upgrade dropped.
type upgradedDocument struct {
	root    *yaml.Node
	written string
	notes   []string
}

// upgraded reads every document of data (name is its file, for errors)
// and upgrades it. A YAML syntax error ends the reading; a document whose
// apiVersion cannot be upgraded is left out, with its errors.
func upgraded(name string, data []byte) ([]upgradedDocument, []*Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var (
		docs []upgradedDocument
		errs []*Error
	)
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return docs, errs
		}
		if err != nil {
			return docs, append(errs, syntaxError(name, data, err))
		}
		if len(root.Content) == 0 {
			continue
		}
		written, verrs := checkVersion(name, root.Content[0])
		if len(verrs) > 0 {
			errs = append(errs, verrs...)
			continue
		}
		notes, uerrs := upgradeDocument(root.Content[0], func(n *yaml.Node, format string, args ...any) *Error {
			return &Error{File: name, Line: n.Line, Column: n.Column, Message: fmt.Sprintf(format, args...)}
		})
		if len(uerrs) > 0 {
			errs = append(errs, uerrs...)
			continue
		}
		docs = append(docs, upgradedDocument{root: &root, written: written, notes: notes})
	}
}

// checkVersion returns the apiVersion doc is written in, or the errors that
// make it one hoist cannot upgrade: an apiVersion Skaffold does not have,
// or the v3 manifests section in an older one.
func checkVersion(name string, doc *yaml.Node) (string, []*Error) {
	if doc.Kind != yaml.MappingNode {
		return "", []*Error{{File: name, Line: doc.Line, Column: doc.Column,
			Message: "expected a mapping, got " + describe(doc), Hint: "start the document with apiVersion: " + LatestVersion + " and kind: Config"}}
	}
	_, v := lookup(doc, "apiVersion")
	if v == nil {
		return "", nil // the decoder reports the missing field
	}
	version := canonicalVersion(v.Value)
	i := slices.Index(versions, version)
	if i < 0 {
		return v.Value, []*Error{{File: name, Line: v.Line, Column: v.Column, Path: "apiVersion",
			Message: fmt.Sprintf("unsupported apiVersion %q", v.Value),
			Hint:    fmt.Sprintf("use one of Skaffold's, %s through %s, for example %s", versions[0], LatestVersion, LatestVersion)}}
	}
	if mk, _ := lookup(doc, "manifests"); mk != nil && i < slices.Index(versions, "skaffold/v3alpha1") {
		return v.Value, []*Error{{File: name, Line: mk.Line, Column: mk.Column, Path: "manifests",
			Message: "manifests needs apiVersion skaffold/v3 or later",
			Hint:    "with " + v.Value + ", list manifests under deploy.kubectl.manifests"}}
	}
	return v.Value, nil
}

// decoded is a document decoded strictly, or the error that stopped it.
type decoded struct {
	document
	err *Error
}

// decodeDocument decodes n strictly. A problem of the config is returned in
// decoded.err with a nil decoder; err is for what is not the config's.
func decodeDocument(name string, n *yaml.Node) (decoded, *decoder, error) {
	d := &decoder{file: name, pos: map[string]*yaml.Node{}}
	var doc decoded
	if err := d.decode(n, reflect.ValueOf(&doc.document).Elem(), ""); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return doc, nil, fault.Wrap(err, fault.ConfigInvalid, "invalid config")
		}
		doc.err = e
		return doc, nil, nil
	}
	return doc, d, nil
}

// merge reads several configs as one run: artifacts and manifests add up,
// in order (the required configs' first); every other setting comes from
// the first config of the root file, the event log file and the RPC
// address from the first config that sets them. An image configured by
// more than one config is an error, reported at each one after the first.
func merge(root string, cfgs []*Config) (*Config, []*Error) {
	base := cfgs[0]
	for _, c := range cfgs {
		if c.File == root {
			base = c
			break
		}
	}
	out := *base
	out.PortForward = slices.Clone(base.PortForward)
	out.Test = slices.Clone(base.Test)
	out.Verify = slices.Clone(base.Verify)
	out.ResourceSelector.Allow = slices.Clone(base.ResourceSelector.Allow)
	out.ResourceSelector.Deny = slices.Clone(base.ResourceSelector.Deny)
	out.CustomActions = slices.Clone(base.CustomActions)
	out.Build.Artifacts = nil
	out.Files = nil
	out.Modules = nil
	if base.Deploy.Kubectl != nil {
		k := *base.Deploy.Kubectl
		k.Manifests, k.Kustomizations, k.Helm = nil, nil, nil
		out.Deploy.Kubectl = &k
	}
	out.HelmManifests, out.Deploy.Helm, out.Deploy.Docker = nil, nil, nil
	out.RenderHooks = nil
	var errs []*Error
	seen := map[string]*Config{}
	for _, c := range cfgs {
		if c.File != "" && !slices.Contains(out.Files, c.File) {
			out.Files = append(out.Files, c.File)
		}
		if c != base {
			mergeBuildSettings(&out.Build, &c.Build)
			out.Notes = append(out.Notes, c.Notes...)
			if h := c.Build.Hooks; h != nil {
				merged := BuildHooks{}
				if out.Build.Hooks != nil {
					merged = *out.Build.Hooks
				}
				merged.Before = append(slices.Clone(merged.Before), h.Before...)
				merged.After = append(slices.Clone(merged.After), h.After...)
				out.Build.Hooks = &merged
			}
		}
		out.Modules = append(out.Modules, Module{Name: c.Metadata.Name, File: c.File, APIVersion: c.APIVersion, Profiles: c.Profiles})
		for i, a := range c.Build.Artifacts {
			if first, dup := seen[a.ImageName]; dup && first != c {
				e := c.at(fmt.Sprintf("build.artifacts[%d].image", i), "image %q is configured by more than one config", a.ImageName)
				if first.File != "" {
					e.Hint = "it is also built by the config in " + first.File
				}
				errs = append(errs, e)
				continue
			}
			seen[a.ImageName] = c
			out.Build.Artifacts = append(out.Build.Artifacts, a)
		}
		if k := c.Deploy.Kubectl; k != nil {
			if out.Deploy.Kubectl == nil {
				kk := *k
				kk.Manifests, kk.Kustomizations, kk.Helm = nil, nil, nil
				out.Deploy.Kubectl = &kk
			}
			out.Deploy.Kubectl.Manifests = append(out.Deploy.Kubectl.Manifests, k.Manifests...)
			out.Deploy.Kubectl.Kustomizations = append(out.Deploy.Kubectl.Kustomizations, k.Kustomizations...)
			out.Deploy.Kubectl.Helm = mergeHelm(out.Deploy.Kubectl.Helm, k.Helm)
		}
		out.HelmManifests = mergeHelm(out.HelmManifests, c.HelmManifests)
		// Each config's render hooks stay its own: its after hooks are
		// given its own manifests.
		out.RenderHooks = append(out.RenderHooks, c.RenderHooks...)
		if h := c.Deploy.Helm; h != nil {
			if out.Deploy.Helm == nil {
				hh := *h
				hh.Releases = nil
				out.Deploy.Helm = &hh
			}
			out.Deploy.Helm.Releases = append(out.Deploy.Helm.Releases, h.Releases...)
		}
		out.Deploy.Docker = mergeDocker(out.Deploy.Docker, c.Deploy.Docker)
		if c != base {
			out.PortForward = append(out.PortForward, c.PortForward...)
			out.Test = append(out.Test, c.Test...)
			out.Verify = append(out.Verify, c.Verify...)
			out.ResourceSelector.Allow = append(out.ResourceSelector.Allow, c.ResourceSelector.Allow...)
			out.ResourceSelector.Deny = append(out.ResourceSelector.Deny, c.ResourceSelector.Deny...)
			out.CustomActions = append(out.CustomActions, c.CustomActions...)
		}
		if out.Event.RPC.Address == "" {
			out.Event.RPC = c.Event.RPC
		}
		if out.Event.Log.File == "" {
			out.Event.Log.File = c.Event.Log.File
		}
	}
	errs = append(errs, dependencyErrors(cfgs)...)
	return &out, append(errs, dockerErrors(cfgs)...)
}

// mergeHelm adds the releases of more to those of h; the flags are the
// first config's.
func mergeHelm(h, more *Helm) *Helm {
	if more == nil {
		return h
	}
	if h == nil {
		return &Helm{Flags: more.Flags, Releases: slices.Clone(more.Releases)}
	}
	h.Releases = append(h.Releases, more.Releases...)
	return h
}

// mergeBuildSettings fills what the root config leaves unset of the
// build's settings from another config: the first config that sets push,
// useBuildkit or the tag policy decides it, the smallest concurrency wins
// (unset is 1; 0, all at once, only when every config says so), the
// switches add up, and so do insecure registries.
func mergeBuildSettings(out, c *Build) {
	l, cl := &out.Local, &c.Local
	if l.Push == nil {
		l.Push = cl.Push
	}
	if l.UseBuildkit == nil {
		l.UseBuildkit = cl.UseBuildkit
	}
	// Unset is 1, as in Skaffold; 0 is all at once.
	eff := func(n *int) int {
		if n == nil {
			return 1
		}
		return *n
	}
	if a, b := eff(l.Concurrency), eff(cl.Concurrency); a == 0 || (b > 0 && b < a) {
		l.Concurrency = cl.Concurrency
	}
	l.UseDockerCLI = l.UseDockerCLI || cl.UseDockerCLI
	l.TryImportMissing = l.TryImportMissing || cl.TryImportMissing
	if out.TagPolicy.isDefault() && !c.TagPolicy.isDefault() {
		out.TagPolicy = c.TagPolicy
	}
	for _, r := range c.InsecureRegistries {
		if !slices.Contains(out.InsecureRegistries, r) {
			out.InsecureRegistries = append(out.InsecureRegistries, r)
		}
	}
}

var aliasRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// dependencyErrors checks the artifacts' requires across all configs: each
// names an artifact of the run, once, by an alias a build argument or an
// environment variable can be named, and none requires itself, directly or
// not.
func dependencyErrors(cfgs []*Config) []*Error {
	type place struct {
		a  *Artifact
		c  *Config
		at string
	}
	byImage := map[string]place{}
	var all []place
	for _, c := range cfgs {
		for i, a := range c.Build.Artifacts {
			p := place{a, c, fmt.Sprintf("build.artifacts[%d]", i)}
			if _, dup := byImage[a.ImageName]; !dup {
				byImage[a.ImageName] = p
			}
			all = append(all, p)
		}
	}
	var errs []*Error
	for _, p := range all {
		aliases := map[string]bool{}
		for j, r := range p.a.Requires {
			at := fmt.Sprintf("%s.requires[%d]", p.at, j)
			if _, ok := byImage[r.Image]; !ok {
				errs = append(errs, p.c.at(at+".image", "artifact %q requires %q, which no config builds", p.a.ImageName, r.Image).
					withHint("requires names the image of another artifact of the run"))
			}
			if aliases[r.Alias] {
				errs = append(errs, p.c.at(at+".alias", "alias %q is used twice by artifact %q", r.Alias, p.a.ImageName))
			}
			aliases[r.Alias] = true
			if (p.a.Docker != nil || p.a.Custom != nil) && !aliasRE.MatchString(r.Alias) {
				errs = append(errs, p.c.at(at, "alias %q of artifact %q is not a name a build argument or an environment variable can have", r.Alias, p.a.ImageName).
					withHint("use letters, digits and _, not starting with a digit; set alias when the image name has other characters"))
			}
		}
	}
	// A cycle, found depth first: reported once, at the artifact it closes on.
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(image string, chain []string) []string
	visit = func(image string, chain []string) []string {
		switch state[image] {
		case 1:
			return append(chain, image)
		case 2:
			return nil
		}
		state[image] = 1
		p, ok := byImage[image]
		if ok {
			for _, r := range p.a.Requires {
				if cycle := visit(r.Image, append(chain, image)); cycle != nil {
					return cycle
				}
			}
		}
		state[image] = 2
		return nil
	}
	for _, p := range all {
		if cycle := visit(p.a.ImageName, nil); cycle != nil {
			start := slices.Index(cycle, cycle[len(cycle)-1])
			first := byImage[cycle[start]]
			errs = append(errs, first.c.at(first.at+".requires", "artifacts require each other: %s", strings.Join(cycle[start:], " -> ")).
				withHint("an artifact cannot require itself, directly or through others"))
			break
		}
	}
	return errs
}

// resolvePaths makes the config's relative paths absolute against its
// folder: artifact contexts, hooks' dirs, manifests and the event log file.
func (c *Config) resolvePaths() {
	for _, a := range c.Build.Artifacts {
		if !filepath.IsAbs(a.Context) {
			a.Context = filepath.Join(c.Dir, a.Context)
		}
	}
	hostDirs := func(hs []HostHook) {
		for i := range hs {
			if !filepath.IsAbs(hs[i].Dir) {
				hs[i].Dir = filepath.Join(c.Dir, hs[i].Dir)
			}
		}
	}
	buildHooks := func(h *BuildHooks) {
		if h != nil {
			hostDirs(h.Before)
			hostDirs(h.After)
		}
	}
	buildHooks(c.Build.Hooks)
	for _, a := range c.Build.Artifacts {
		buildHooks(a.Hooks)
	}
	if k := c.Deploy.Kubectl; k != nil && k.Hooks != nil {
		for _, side := range [][]DeployHook{k.Hooks.Before, k.Hooks.After} {
			for _, h := range side {
				if h.Host != nil {
					if !filepath.IsAbs(h.Host.Dir) {
						h.Host.Dir = filepath.Join(c.Dir, h.Host.Dir)
					}
				}
			}
		}
	}
	hostDir := func(h *HostHook) {
		if h != nil && !filepath.IsAbs(h.Dir) {
			h.Dir = filepath.Join(c.Dir, h.Dir)
		}
	}
	for _, h := range c.RenderHooks {
		for _, rh := range h.Before {
			hostDir(rh.Host)
		}
		for _, rh := range h.After {
			if rh.Host != nil {
				hostDir(&rh.Host.HostHook)
			}
		}
		// The same paths as the manifests' below, so that the kubectl
		// deployer knows the config's own.
		for i, m := range h.Manifests {
			if !filepath.IsAbs(m) {
				h.Manifests[i] = filepath.Join(c.Dir, m)
			}
		}
		for i, p := range h.Kustomizations {
			if !filepath.IsAbs(p) {
				h.Kustomizations[i] = filepath.Join(c.Dir, p)
			}
		}
	}
	if k := c.Deploy.Kubectl; k != nil {
		for i, m := range k.Manifests {
			if !filepath.IsAbs(m) {
				k.Manifests[i] = filepath.Join(c.Dir, m)
			}
		}
		for i, z := range k.Kustomizations {
			if !filepath.IsAbs(z.Path) {
				k.Kustomizations[i].Path = filepath.Join(c.Dir, z.Path)
			}
		}
	}
	var releases []*HelmRelease
	if c.HelmManifests != nil {
		releases = append(releases, c.HelmManifests.Releases...)
	}
	if c.Deploy.Helm != nil {
		releases = append(releases, c.Deploy.Helm.Releases...)
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Dir, *p)
		}
	}
	for _, r := range releases {
		abs(&r.ChartPath)
		for i := range r.ValuesFiles {
			abs(&r.ValuesFiles[i])
		}
		for k, f := range r.SetFiles {
			abs(&f)
			r.SetFiles[k] = f
		}
	}
	for _, tc := range c.Test {
		if !filepath.IsAbs(tc.Context) {
			tc.Context = filepath.Join(c.Dir, tc.Context)
		}
	}
	if f := c.Event.Log.File; f != "" && !filepath.IsAbs(f) {
		c.Event.Log.File = filepath.Join(c.Dir, f)
	}
}

// syntaxError turns a YAML parser error into a positioned Error. The parser
// reports only a line; the column is that line's first non-blank character.
func syntaxError(name string, data []byte, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	col := 1
	text := ""
	if lines := strings.Split(string(data), "\n"); line-1 < len(lines) {
		text = lines[line-1]
		col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
	}
	e := &Error{File: name, Line: line, Column: col, Message: "YAML syntax error: " + msg}
	if strings.Contains(msg, "tab") || strings.Contains(text, "\t") {
		e.Hint = "indent with spaces, not tabs"
	} else {
		e.Hint = "check the indentation of this line and the one above it"
	}
	return e
}
