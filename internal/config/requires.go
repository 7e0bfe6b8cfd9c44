package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ConfigDependency is one entry of requires: configs that this one needs,
// built and deployed with it, before it.
type ConfigDependency struct {
	// Names keep only the configs of the file whose metadata.name is one
	// of them; empty keeps all.
	Names []string `yaml:"configs,omitempty"`
	// Path is a skaffold.yaml, or a folder that holds one, relative to this
	// config's folder.
	Path string `yaml:"path,omitempty"`
	// Git, GoogleCloudStorage and GoogleCloudBuildRepoV2 fetch the config
	// from elsewhere, which hoist does not do.
	Git                    Raw `yaml:"git,omitempty"`
	GoogleCloudStorage     Raw `yaml:"googleCloudStorage,omitempty"`
	GoogleCloudBuildRepoV2 Raw `yaml:"googleCloudBuildRepoV2,omitempty"`
	// ActiveProfiles are profiles of the required configs to apply.
	ActiveProfiles []ProfileDependency `yaml:"activeProfiles,omitempty"`
}

// ProfileDependency applies profile Name of the required configs, always,
// or when one of ActivatedBy is applied in the requiring config.
type ProfileDependency struct {
	Name        string   `yaml:"name,omitempty" hoist:"required"`
	ActivatedBy []string `yaml:"activatedBy,omitempty"`
}

// loader reads a config and, depth first, the configs it requires.
type loader struct {
	o Options
	// root is the root config's name as given, for errors.
	root string
	// stack is the chain of files being read, for cycles.
	stack []string
	// seen are the configs read, by file and document.
	seen map[string]*Config
	// visiting are the configs whose requires are being read.
	visiting map[string]bool
	// profiles are the names of the profiles every config read defines.
	profiles map[string]bool
}

// file reads the configs of the file abs (display is its name in errors),
// whose data is given or read, keeping those named in names (all when
// empty), with the -p names profiles; the configs each requires come
// before it. from locates the requires entry that led here.
//
// It returns the configs read and, apart, those selected that were read
// before: dependencies too, but already in the run.
func (l *loader) file(abs, display string, data []byte, names, profiles []string, from *Error) (read, before []*Config, errs []*Error, err error) {
	if i := slices.Index(l.stack, abs); i >= 0 {
		chain := append(slices.Clone(l.stack[i:]), abs)
		for j := range chain {
			chain[j] = l.rel(chain[j])
		}
		from.Message = "requires makes a cycle: " + strings.Join(chain, " -> ")
		from.Hint = "a config cannot require itself, directly or through others"
		return nil, nil, []*Error{from}, nil
	}
	if data == nil {
		var err error
		data, err = os.ReadFile(abs)
		if err != nil {
			from.Message = fmt.Sprintf("required config %s cannot be read: %v", l.rel(abs), errors.Unwrap(err))
			if errors.Is(err, fs.ErrNotExist) {
				from.Message = fmt.Sprintf("required config %s does not exist", l.rel(abs))
			}
			from.Hint = "requires.path is a skaffold.yaml, or a folder that holds one, relative to this config's folder"
			return nil, nil, []*Error{from}, nil
		}
	}
	l.stack = append(l.stack, abs)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	cfgs, errs, err := l.parse(display, data, profiles)
	if err != nil || len(errs) > 0 {
		return nil, nil, errs, err
	}
	for i, c := range cfgs {
		if len(names) > 0 && !slices.Contains(names, c.Metadata.Name) {
			continue
		}
		key := fmt.Sprintf("%s#%d", abs, i)
		if l.visiting[key] {
			from.Message = fmt.Sprintf("requires makes a cycle: config %s requires itself", configName(c, i, l.rel(abs)))
			from.Hint = "name the other configs of the file with requires.configs"
			return nil, nil, []*Error{from}, nil
		}
		if prev, ok := l.seen[key]; ok {
			if !slices.Equal(prev.Profiles, c.Profiles) {
				return nil, nil, []*Error{c.at("", "config %s is required more than once, with different profiles (%s and %s)",
					configName(c, i, l.rel(abs)), listOrNone(prev.Profiles), listOrNone(c.Profiles))}, nil
			}
			before = append(before, prev)
			continue
		}
		l.seen[key] = c
		l.visiting[key] = true
		c.File, c.Dir = abs, filepath.Dir(abs)
		c.resolvePaths()
		for j, r := range c.requires {
			deps, known, derrs, err := l.dependency(c, j, r)
			if err != nil {
				return nil, nil, nil, err
			}
			errs = append(errs, derrs...)
			c.deps = append(append(c.deps, deps...), known...)
			read = append(read, deps...)
		}
		delete(l.visiting, key)
		read = append(read, c)
	}
	return read, before, errs, nil
}

// dependency reads the configs of c's requires entry j.
func (l *loader) dependency(c *Config, j int, r ConfigDependency) (read, before []*Config, errs []*Error, err error) {
	at := func(field string) *Error { return c.at(fmt.Sprintf("requires[%d]%s", j, field), "") }
	for _, remote := range []struct {
		name string
		r    Raw
	}{{"git", r.Git}, {"googleCloudStorage", r.GoogleCloudStorage}, {"googleCloudBuildRepoV2", r.GoogleCloudBuildRepoV2}} {
		if remote.r.Node != nil {
			e := at("." + remote.name)
			e.Message = fmt.Sprintf("requires.%s fetches the config over the network, which hoist does not do", remote.name)
			e.Hint = "fetch it yourself (git clone) and point requires.path at the copy"
			e.Unsupported = true
			return nil, nil, []*Error{e}, nil
		}
	}
	path := r.Path
	if path == "" {
		path = c.File
	} else if !filepath.IsAbs(path) {
		path = filepath.Join(c.Dir, path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "skaffold.yaml")
		if _, err := os.Stat(path); err != nil {
			if yml := strings.TrimSuffix(path, ".yaml") + ".yml"; fileExists(yml) {
				path = yml
			}
		}
	}
	var profiles []string
	for _, ap := range r.ActiveProfiles {
		if len(ap.ActivatedBy) == 0 || slices.ContainsFunc(ap.ActivatedBy, func(p string) bool { return slices.Contains(c.Profiles, p) }) {
			profiles = append(profiles, ap.Name)
		}
	}
	// Profiles named with -p apply to every config that defines them.
	for _, p := range l.o.Profiles {
		if !slices.Contains(profiles, p) {
			profiles = append(profiles, p)
		}
	}
	var data []byte
	if path == c.File {
		if data, err = os.ReadFile(path); err != nil {
			return nil, nil, nil, err
		}
		// The same file: only its other configs can be required.
		l.stack = l.stack[:len(l.stack)-1]
		defer func() { l.stack = append(l.stack, c.File) }()
	}
	field := ".path"
	if r.Path == "" {
		field = ""
	}
	return l.file(path, l.rel(path), data, r.Names, profiles, at(field))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// rel is p relative to the root config's folder, when it is below it.
func (l *loader) rel(p string) string {
	base, err := filepath.Abs(filepath.Dir(l.root))
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(base, p); err == nil && filepath.IsLocal(r) {
		return r
	}
	return p
}

// unmatchedProfiles reports -p names that no config read defines.
func (l *loader) unmatchedProfiles(name string) []*Error {
	var missing []string
	for _, p := range l.o.Profiles {
		if !l.profiles[strings.TrimPrefix(p, "-")] {
			missing = append(missing, strings.TrimPrefix(p, "-"))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	defined := slices.Sorted(func(yield func(string) bool) {
		for p := range l.profiles {
			if !yield(p) {
				return
			}
		}
	})
	hint := "this config defines no profiles"
	if len(defined) > 0 {
		hint = "the profiles defined are " + strings.Join(defined, ", ")
	}
	return []*Error{{File: name, Line: 1, Column: 1,
		Message: fmt.Sprintf("profile %s given with -p is not defined in any config", strings.Join(quoteAll(missing), ", ")), Hint: hint}}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

func configName(c *Config, i int, file string) string {
	if c.Metadata.Name != "" {
		return fmt.Sprintf("%q of %s", c.Metadata.Name, file)
	}
	return fmt.Sprintf("#%d of %s", i+1, file)
}

// modules keeps the configs named in names (-m) and those they require,
// in order; with no names, all.
func modules(root string, cfgs []*Config, names []string) ([]*Config, error) {
	if len(names) == 0 {
		return cfgs, nil
	}
	keep := map[*Config]bool{}
	var mark func(c *Config)
	mark = func(c *Config) {
		if keep[c] {
			return
		}
		keep[c] = true
		for _, d := range c.deps {
			mark(d)
		}
	}
	found := map[string]bool{}
	for _, c := range cfgs {
		if c.Metadata.Name != "" && slices.Contains(names, c.Metadata.Name) {
			found[c.Metadata.Name] = true
			mark(c)
		}
	}
	var missing []string
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		var known []string
		for _, c := range cfgs {
			if c.Metadata.Name != "" {
				known = append(known, c.Metadata.Name)
			}
		}
		return nil, invalid(&Error{File: root, Line: 1, Column: 1,
			Message: fmt.Sprintf("module %s given with -m is not the metadata.name of any config", strings.Join(quoteAll(missing), ", ")),
			Hint:    "the configs named are " + listOrNone(known)})
	}
	return slices.DeleteFunc(slices.Clone(cfgs), func(c *Config) bool { return !keep[c] }), nil
}
