package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Profile changes the pipeline when it is active: its sections lay over
// the document's (see overlay), then its patches apply, as in Skaffold.
type Profile struct {
	Name string `yaml:"name,omitempty" hoist:"required"`
	// Activation turns the profile on by itself: any one entry whose set
	// fields all match (or, with RequiresAllActivations, every entry).
	Activation             []Activation `yaml:"activation,omitempty"`
	RequiresAllActivations bool         `yaml:"requiresAllActivations,omitempty"`
	Patches                []JSONPatch  `yaml:"patches,omitempty"`
	Pipeline               `yaml:",inline"`
}

// Activation is one condition of a profile's activation. Each value is a
// regular expression, matched anywhere in what it tests unless anchored,
// and negated by a leading "!".
type Activation struct {
	// Env is KEY=VALUE: VALUE matches the variable's value; an empty VALUE
	// matches an unset or empty variable.
	Env string `yaml:"env,omitempty"`
	// KubeContext matches the kube context deployed to.
	KubeContext string `yaml:"kubeContext,omitempty"`
	// Command matches the hoist command: build, run, dev, deploy, diagnose...
	Command string `yaml:"command,omitempty"`
}

// Options choose which profiles of a config apply.
type Options struct {
	// Profiles are the names given with -p, in order; "-name" deactivates
	// name, whether it was activated by itself or named before.
	Profiles []string
	// NoAutoActivation turns off the profiles' activation entries
	// (--profile-auto-activation=false).
	NoAutoActivation bool
	// Command is the hoist command, for activation.command.
	Command string
	// KubeContext returns the kube context, for activation.kubeContext. It
	// is called only when an activation needs it; nil means none is known.
	KubeContext func() (string, error)
	// Modules (-m) keep only the configs with these metadata.names, and the
	// configs they require; empty keeps all.
	Modules []string
}

// activeProfiles returns the indexes of doc's profiles that apply, in the
// order they apply: the ones that activate themselves in file order, then
// the ones named in o.Profiles in that order.
func activeProfiles(profiles []Profile, o Options, at locator) ([]int, []*Error) {
	var (
		active []int
		errs   []*Error
	)
	byName := map[string]int{}
	for i, p := range profiles {
		if _, dup := byName[p.Name]; dup {
			errs = append(errs, at(fmt.Sprintf("profiles[%d].name", i), "profile %q is defined twice", p.Name))
		}
		byName[p.Name] = i
	}
	if !o.NoAutoActivation {
		for i, p := range profiles {
			on, perrs := activated(p, o, func(path, format string, args ...any) *Error {
				return at(fmt.Sprintf("profiles[%d].%s", i, path), format, args...)
			})
			errs = append(errs, perrs...)
			if on {
				active = append(active, i)
			}
		}
	}
	for _, name := range o.Profiles {
		if off, ok := strings.CutPrefix(name, "-"); ok {
			if i, found := byName[off]; found {
				active = slices.DeleteFunc(active, func(j int) bool { return j == i })
			}
			continue
		}
		if i, found := byName[name]; found && !slices.Contains(active, i) {
			active = append(active, i)
		}
	}
	return active, errs
}

// activated says whether p activates itself. Malformed activations are
// errors whether or not they would have matched.
func activated(p Profile, o Options, at locator) (bool, []*Error) {
	if len(p.Activation) == 0 {
		return false, nil
	}
	var errs []*Error
	anyOn, all := false, true
	for i, a := range p.Activation {
		on, aerrs := a.matches(o, func(path, format string, args ...any) *Error {
			return at(fmt.Sprintf("activation[%d].%s", i, path), format, args...)
		})
		errs = append(errs, aerrs...)
		anyOn = anyOn || on
		all = all && on
	}
	if p.RequiresAllActivations {
		return all, errs
	}
	return anyOn, errs
}

func (a Activation) matches(o Options, at locator) (bool, []*Error) {
	var errs []*Error
	on := true
	if a.Env != "" {
		key, want, ok := strings.Cut(a.Env, "=")
		switch {
		case !ok || key == "":
			errs = append(errs, at("env", "env %q is not KEY=VALUE", a.Env).
				withHint("write the variable and the value to match, such as ENV=prod"))
		case want == "":
			on = on && os.Getenv(key) == ""
		default:
			m, err := regexpMatch(want, os.Getenv(key))
			if err != nil {
				errs = append(errs, at("env", "%v", err))
			}
			on = on && m
		}
	}
	if a.KubeContext != "" {
		current := ""
		if o.KubeContext != nil {
			c, err := o.KubeContext()
			if err != nil {
				errs = append(errs, at("kubeContext", "reading the current kube context: %v", err))
			}
			current = c
		}
		m, err := regexpMatch(a.KubeContext, current)
		if err != nil {
			errs = append(errs, at("kubeContext", "%v", err))
		}
		on = on && m
	}
	if a.Command != "" {
		m, err := regexpMatch(a.Command, o.Command)
		if err != nil {
			errs = append(errs, at("command", "%v", err))
		}
		on = on && m
	}
	return on && len(errs) == 0, errs
}

// regexpMatch matches s against pattern, unanchored; a leading "!"
// negates. A pattern that is not a regular expression is an error.
func regexpMatch(pattern, s string) (bool, error) {
	negate := false
	if p, ok := strings.CutPrefix(pattern, "!"); ok {
		pattern, negate = p, true
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return false, fmt.Errorf("%q is not a regular expression: %v", pattern, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re.MatchString(s) != negate, nil
}

// overlay lays the profile's section prof over the document's base, as
// Skaffold does, guided by t, the section's Go type:
//   - a mapping of a struct merges field by field;
//   - a list, a pointer (a builder, a deployer) or a field tagged
//     overlay:"replace" (tagPolicy, local) is replaced whole when the
//     profile sets it;
//   - a scalar is replaced unless the profile's is empty, false or 0;
//   - fields tagged overlay:"group=NAME" are one choice: when the profile
//     sets any of them, the base's are dropped.
//
// It returns the node to use; base may be nil.
func overlay(base, prof *yaml.Node, t reflect.Type) *yaml.Node {
	if prof == nil || isNull(prof) {
		return base
	}
	if t.Kind() == reflect.Pointer {
		return clone(prof)
	}
	switch t.Kind() {
	case reflect.Slice:
		if prof.Kind == yaml.SequenceNode && len(prof.Content) == 0 {
			return base
		}
		return clone(prof)
	case reflect.Struct:
		if t == reflect.TypeFor[Raw]() {
			return clone(prof)
		}
		if base == nil || base.Kind != yaml.MappingNode || prof.Kind != yaml.MappingNode {
			return clone(prof)
		}
		return overlayStruct(base, prof, t)
	case reflect.String:
		if prof.Value == "" {
			return base
		}
	case reflect.Bool:
		if strings.EqualFold(prof.Value, "false") {
			return base
		}
	case reflect.Int:
		if prof.Value == "0" {
			return base
		}
	}
	return clone(prof)
}

func overlayStruct(base, prof *yaml.Node, t reflect.Type) *yaml.Node {
	out := clone(base)
	fields := yamlFields(t)
	for i := 0; i+1 < len(prof.Content); i += 2 {
		k, v := prof.Content[i], prof.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			continue
		}
		if group, ok := strings.CutPrefix(f.Tag.Get("overlay"), "group="); ok && !isNull(v) {
			for name, g := range fields {
				if g.Tag.Get("overlay") == "group="+group && name != k.Value {
					_, _ = removeAt(out, "/"+name)
				}
			}
		}
		var merged *yaml.Node
		_, old := lookup(out, k.Value)
		if f.Tag.Get("overlay") != "" {
			merged = clone(v)
		} else {
			merged = overlay(old, v, f.Type)
		}
		if merged == nil {
			continue
		}
		if old != nil {
			*old = *merged
		} else {
			out.Content = append(out.Content, clone(k), merged)
		}
	}
	return out
}

// yamlFields maps the YAML names of t's fields, inline ones included, to
// the fields; an inline field's Index leads from t into it.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				v.Index = append([]int{i}, v.Index...)
				out[k] = v
			}
			continue
		}
		if name != "" && name != "-" {
			out[name] = f
		}
	}
	return out
}

// applyProfiles applies the profiles at indexes active, in order, to the
// document root, whose decoded form is doc: each one's sections, then its
// patches. It then drops the profiles from root. Errors are located with
// at, at the profile's patch that failed.
func applyProfiles(root *yaml.Node, doc *document, active []int, at locator) []*Error {
	var errs []*Error
	_, profNodes := lookup(root, "profiles")
	pt := reflect.TypeFor[Pipeline]()
	for _, i := range active {
		p := doc.Profiles[i]
		// The profile's sections lay over the document's; its other fields
		// (name, activation, patches) are not the pipeline's, so they stay.
		*root = *overlayStruct(root, profNodes.Content[i], pt)
		for j, patch := range p.Patches {
			if err := applyPatch(root, patch); err != nil {
				errs = append(errs, at(fmt.Sprintf("profiles[%d].patches[%d].path", i, j),
					"profile %q: patch %s %s: %v", p.Name, opName(patch.Op), patch.Path, err).
					withHint("patch paths are JSON pointers into the config as written, such as /build/artifacts/0/docker/dockerfile"))
			}
		}
	}
	_, _ = removeAt(root, "/profiles")
	return errs
}

func opName(op string) string {
	if op == "" {
		return "replace"
	}
	return op
}
