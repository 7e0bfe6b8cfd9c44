package config

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// Helm is manifests.helm: releases rendered as helm template renders them
// and applied with the other manifests, unless deploy.helm deploys them.
type Helm struct {
	Flags    HelmFlags      `yaml:"flags,omitempty"`
	Releases []*HelmRelease `yaml:"releases,omitempty"`
}

// HelmDeploy is deploy.helm: releases installed or upgraded as helm
// upgrade --install does, and uninstalled by hoist delete.
type HelmDeploy struct {
	// Concurrency is kept; hoist deploys releases one by one, in order.
	Concurrency *int           `yaml:"concurrency,omitempty"`
	Releases    []*HelmRelease `yaml:"releases,omitempty"`
	Flags       HelmFlags      `yaml:"flags,omitempty"`
	Hooks       *DeployHooks   `yaml:"hooks,omitempty"`
}

// HelmFlags are helm command-line flags, of which hoist, using Helm's
// SDK, understands those with an SDK equivalent (see HelmRelease).
type HelmFlags struct {
	Global   []string `yaml:"global,omitempty"`
	Install  []string `yaml:"install,omitempty"`
	Upgrade  []string `yaml:"upgrade,omitempty"`
	DepBuild []string `yaml:"depBuild,omitempty"`
	Template []string `yaml:"template,omitempty"`
}

// HelmRelease is one release of a chart.
type HelmRelease struct {
	Name string `yaml:"name,omitempty"`
	// ChartPath is a chart folder or packaged chart, relative to the
	// config's folder; RemoteChart an oci:// reference, or a chart name
	// in Repo. One of them is set.
	ChartPath   string   `yaml:"chartPath,omitempty"`
	RemoteChart string   `yaml:"remoteChart,omitempty"`
	Repo        string   `yaml:"repo,omitempty"`
	Version     string   `yaml:"version,omitempty"`
	ValuesFiles []string `yaml:"valuesFiles,omitempty"`
	Namespace   string   `yaml:"namespace,omitempty"`
	// SetValues are --set values; SetValueTemplates too, after expanding
	// the built images' variables ({{.IMAGE_FULLY_QUALIFIED_app}}) and
	// the environment; SetFiles are --set-file.
	SetValues         FlatMap           `yaml:"setValues,omitempty"`
	SetValueTemplates FlatMap           `yaml:"setValueTemplates,omitempty"`
	SetFiles          map[string]string `yaml:"setFiles,omitempty"`
	CreateNamespace   *bool             `yaml:"createNamespace,omitempty"`
	Wait              bool              `yaml:"wait,omitempty"`
	RecreatePods      bool              `yaml:"recreatePods,omitempty"`
	// SkipBuildDependencies leaves a local chart's charts/ folder as it is.
	SkipBuildDependencies bool `yaml:"skipBuildDependencies,omitempty"`
	SkipTests             bool `yaml:"skipTests,omitempty"`
	UseHelmSecrets        bool `yaml:"useHelmSecrets,omitempty"`
	// UpgradeOnChange, for a remote chart, upgrades it on every deploy of
	// hoist dev rather than only the first.
	UpgradeOnChange *bool `yaml:"upgradeOnChange,omitempty"`
	// Overrides are values laid over the values files.
	Overrides Raw `yaml:"overrides,omitempty"`
	// Packaged packages a local chart with this version and appVersion
	// before deploying it.
	Packaged  *HelmPackaged `yaml:"packaged,omitempty"`
	DependsOn []string      `yaml:"dependsOn,omitempty"`
}

// HelmPackaged overrides a packaged chart's versions.
type HelmPackaged struct {
	Version    string `yaml:"version,omitempty"`
	AppVersion string `yaml:"appVersion,omitempty"`
}

// KeyValue is one entry of a FlatMap.
type KeyValue struct {
	Key   string
	Value string
}

// FlatMap is a mapping written nested or with dotted keys, read as dotted
// keys in the order written: {image: {tag: v1}} and {image.tag: v1} are
// both image.tag=v1.
type FlatMap []KeyValue

// flatten appends the scalars under n to m, their keys prefixed.
func (m FlatMap) flatten(prefix string, n *yaml.Node) (FlatMap, *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind != yaml.ScalarNode {
			return m, n
		}
		return append(m, KeyValue{prefix, n.Value}), nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if prefix != "" {
			key = prefix + "." + key
		}
		var bad *yaml.Node
		if m, bad = m.flatten(key, n.Content[i+1]); bad != nil {
			return m, bad
		}
	}
	return m, nil
}

// MarshalYAML writes the map with dotted keys.
func (m FlatMap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, kv := range m {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kv.Key},
			&yaml.Node{Kind: yaml.ScalarNode, Value: kv.Value, Style: styleOf(kv.Value)})
	}
	return n, nil
}

// styleOf quotes values YAML would otherwise read as another type.
func styleOf(v string) yaml.Style {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(v), &n); err != nil || len(n.Content) != 1 || n.Content[0].ShortTag() != "!!str" || strings.ContainsAny(v, "{}") {
		return yaml.DoubleQuotedStyle
	}
	return 0
}

// HelmOptions are what helm's flags ask for, of those hoist understands.
type HelmOptions struct {
	Atomic, Force, Wait, CleanupOnFail bool
	NoHooks, SkipCRDs, ResetValues     bool
	PlainHTTP, InsecureSkipTLSVerify   bool
	// Timeout is --timeout, as written (a Go duration); empty is Helm's
	// default.
	Timeout string
}

const helmFlagHelp = "hoist understands --atomic, --rollback-on-failure, --force, --force-replace, --wait, --timeout, --cleanup-on-fail, --no-hooks, --skip-crds, --include-crds, --reset-values, --plain-http, --insecure-skip-tls-verify, --install and --skip-refresh"

// Options turns the flags into HelmOptions, or says which flag hoist does
// not understand.
func (f HelmFlags) Options() (HelmOptions, error) {
	var o HelmOptions
	for _, group := range []struct {
		name  string
		flags []string
	}{{"global", f.Global}, {"install", f.Install}, {"upgrade", f.Upgrade}, {"depBuild", f.DepBuild}, {"template", f.Template}} {
		// Skaffold's examples write a flag and its value in one entry, or
		// in two.
		var args []string
		for _, a := range group.flags {
			args = append(args, strings.Fields(a)...)
		}
		for i := 0; i < len(args); i++ {
			name, value, hasValue := strings.Cut(args[i], "=")
			set := func(b *bool) error {
				if hasValue && value != "true" && value != "false" {
					return fmt.Errorf("%s flag %q takes true or false", group.name, args[i])
				}
				*b = !hasValue || value == "true"
				return nil
			}
			var err error
			switch name {
			case "--atomic", "--rollback-on-failure":
				err = set(&o.Atomic)
			case "--force", "--force-replace":
				err = set(&o.Force)
			case "--wait":
				o.Wait = true
			case "--cleanup-on-fail":
				err = set(&o.CleanupOnFail)
			case "--no-hooks":
				err = set(&o.NoHooks)
			case "--skip-crds":
				err = set(&o.SkipCRDs)
			case "--reset-values":
				err = set(&o.ResetValues)
			case "--plain-http":
				err = set(&o.PlainHTTP)
			case "--insecure-skip-tls-verify":
				err = set(&o.InsecureSkipTLSVerify)
			case "--install", "--include-crds", "--skip-refresh":
			case "--timeout":
				if !hasValue && i+1 < len(args) {
					i++
					value = args[i]
				}
				if _, perr := time.ParseDuration(value); perr != nil {
					err = fmt.Errorf("%s flag --timeout %q is not a duration such as 5m", group.name, value)
				}
				o.Timeout = value
			default:
				err = fmt.Errorf("%s flag %q: %s", group.name, args[i], helmFlagHelp)
			}
			if err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

// releaseName is what Helm accepts as a release name.
var releaseName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// validateHelm checks the releases of h, written at path.
func validateHelm(h *Helm, flags HelmFlags, path string, at locator) []*Error {
	var errs []*Error
	if _, err := flags.Options(); err != nil {
		errs = append(errs, at(path+".flags", "%v", err).withHint("remove the flag, or use Skaffold, which runs the helm command"))
	}
	for i, r := range h.Releases {
		p := fmt.Sprintf("%s.releases[%d]", path, i)
		switch {
		case r.Name == "":
			errs = append(errs, at(p+".name", "a release needs a name"))
		case !strings.Contains(r.Name, "{{") && (len(r.Name) > 53 || !releaseName.MatchString(r.Name)):
			errs = append(errs, at(p+".name", "%q is not a valid Helm release name", r.Name).
				withHint("use at most 53 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"))
		}
		switch {
		case r.ChartPath == "" && r.RemoteChart == "":
			errs = append(errs, at(p, "release %q needs chartPath or remoteChart", r.Name))
		case r.ChartPath != "" && r.RemoteChart != "":
			errs = append(errs, at(p+".remoteChart", "release %q sets both chartPath and remoteChart", r.Name).withHint("keep one"))
		}
		if r.Repo != "" && r.RemoteChart == "" {
			errs = append(errs, at(p+".repo", "repo applies to a remoteChart"))
		}
		if r.Packaged != nil && r.ChartPath == "" {
			errs = append(errs, at(p+".packaged", "packaged applies to a local chart (chartPath)"))
		}
		if r.UseHelmSecrets {
			e := at(p+".useHelmSecrets", "useHelmSecrets needs the helm-secrets plugin, which hoist does not run: not supported yet").
				withHint("decrypt the values files before the deploy, for example in a before hook")
			e.Unsupported = true
			errs = append(errs, e)
		}
		for _, kv := range r.SetValueTemplates {
			if _, err := template.New(kv.Key).Option("missingkey=zero").Parse(kv.Value); err != nil {
				errs = append(errs, at(p+".setValueTemplates."+kv.Key, "the template of %q does not parse: %v", kv.Key, err))
			}
		}
	}
	return errs
}
