package config

import (
	"bytes"
	"slices"

	"go.yaml.in/yaml/v3"
)

// document is one YAML document of skaffold.yaml, upgraded to the latest
// apiVersion (so its manifests are under manifests.rawYaml).
type document struct {
	APIVersion string             `yaml:"apiVersion,omitempty" hoist:"required"`
	Kind       string             `yaml:"kind,omitempty" hoist:"required"`
	Metadata   Metadata           `yaml:"metadata,omitempty"`
	Requires   []ConfigDependency `yaml:"requires,omitempty"`
	Pipeline   `yaml:",inline"`
	Profiles   []Profile `yaml:"profiles,omitempty"`
	Event      Event     `yaml:"event,omitempty"`
}

// Pipeline is what a profile can change: the sections of a config but its
// apiVersion, kind, metadata and requires.
type Pipeline struct {
	Build       Build          `yaml:"build,omitempty"`
	Manifests   manifests      `yaml:"manifests,omitempty"`
	Deploy      Deploy         `yaml:"deploy,omitempty"`
	PortForward []*PortForward `yaml:"portForward,omitempty"`
	Test        []*TestCase    `yaml:"test,omitempty"`
	// Verify and CustomActions serve hoist verify and hoist exec, which
	// hoist does not have yet: kept as written, so that run and dev load.
	ResourceSelector ResourceSelector `yaml:"resourceSelector,omitempty"`
	Verify           []Raw            `yaml:"verify,omitempty"`
	CustomActions    []Raw            `yaml:"customActions,omitempty"`
}

// manifests is the v3+ home of the Kubernetes manifests.
type manifests struct {
	RawYAML   []string   `yaml:"rawYaml,omitempty"`
	Kustomize *Kustomize `yaml:"kustomize,omitempty"`
	Helm      *Helm      `yaml:"helm,omitempty"`
	// Hooks run before the manifests render and on what they render to.
	Hooks *RenderHooks `yaml:"hooks,omitempty"`
}

// Kustomize renders manifests with kustomize build, of each of Paths
// (folders with a kustomization, relative to the config's folder) with the
// flags BuildArgs.
type Kustomize struct {
	Paths     []string `yaml:"paths,omitempty"`
	BuildArgs []string `yaml:"buildArgs,omitempty"`
}

// convert reads doc, a document upgraded to the latest apiVersion, into
// the internal Config. It returns a nil Config when doc is not a config (its
// kind is not Config), and an error for manifests listed in the v2beta
// layout in a document that was written in v3 or later; each error is
// located with at. The Config shares doc's sections.
func convert(doc *document, at locator) (*Config, []*Error) {
	if doc.Kind != "Config" {
		return nil, []*Error{at("kind", "unsupported kind %q", doc.Kind).withHint("use kind: Config")}
	}
	var errs []*Error
	cfg := &Config{APIVersion: doc.APIVersion, Metadata: doc.Metadata, Build: doc.Build, Deploy: doc.Deploy,
		PortForward: doc.PortForward, Test: doc.Test, Verify: doc.Verify, CustomActions: doc.CustomActions,
		ResourceSelector: doc.ResourceSelector, Event: doc.Event}
	if k := doc.Deploy.Kubectl; k != nil && len(k.Manifests) > 0 {
		errs = append(errs, at("deploy.kubectl.manifests", "deploy.kubectl.manifests is the v2beta layout").
			withHint("with "+doc.APIVersion+", list manifests under manifests.rawYaml"))
	}
	// manifests.helm renders for the kubectl deployer unless deploy.helm
	// deploys the releases itself, as Skaffold does.
	helmRenders := doc.Manifests.Helm != nil && doc.Deploy.Helm == nil
	if len(doc.Manifests.RawYAML) > 0 || doc.Manifests.Kustomize != nil || helmRenders {
		if cfg.Deploy.Kubectl == nil {
			cfg.Deploy.Kubectl = &KubectlDeploy{}
		}
		cfg.Deploy.Kubectl.Manifests = doc.Manifests.RawYAML
	}
	if k := doc.Manifests.Kustomize; k != nil {
		paths := k.Paths
		if len(paths) == 0 {
			paths = []string{"."}
		}
		for _, p := range paths {
			cfg.Deploy.Kubectl.Kustomizations = append(cfg.Deploy.Kubectl.Kustomizations, Kustomization{Path: p, BuildArgs: k.BuildArgs})
		}
	}
	cfg.HelmManifests = doc.Manifests.Helm
	if m, d := doc.Manifests.Helm, cfg.Deploy.Helm; m != nil && d != nil {
		// With both, the helm deployer deploys manifests.helm's releases,
		// as Skaffold's does.
		merged := *d
		merged.Releases, merged.Flags = m.Releases, m.Flags
		cfg.Deploy.Helm = &merged
	}
	if helmRenders {
		cfg.Deploy.Kubectl.Helm = doc.Manifests.Helm
	}
	if h := doc.Manifests.Hooks; h != nil {
		h.Manifests = slices.Clone(doc.Manifests.RawYAML)
		if k := cfg.Deploy.Kubectl; k != nil {
			for _, z := range k.Kustomizations {
				h.Kustomizations = append(h.Kustomizations, z.Path)
			}
		}
		if m := doc.Manifests.Helm; m != nil {
			h.Releases = append(h.Releases, m.Releases...)
		}
		if d := doc.Deploy.Helm; d != nil {
			h.Releases = append(h.Releases, d.Releases...)
		}
		cfg.RenderHooks = []*RenderHooks{h}
	}
	return cfg, errs
}

// LatestVersion is the apiVersion hoist writes: Skaffold's latest.
const LatestVersion = "skaffold/v4beta14"

// YAML is the config as one document of the latest apiVersion, with its
// defaults filled in and its profiles applied (and so left out): what
// hoist diagnose prints.
func (c *Config) YAML() ([]byte, error) {
	doc := document{APIVersion: LatestVersion, Kind: "Config", Metadata: c.Metadata,
		Pipeline: Pipeline{Build: c.Build, Deploy: c.Deploy, PortForward: c.PortForward, Test: c.Test,
			Verify: c.Verify, CustomActions: c.CustomActions, ResourceSelector: c.ResourceSelector}, Event: c.Event}
	doc.Manifests.Helm = c.HelmManifests
	// The hooks of several configs are written as one config's.
	for _, h := range c.RenderHooks {
		if doc.Manifests.Hooks == nil {
			doc.Manifests.Hooks = &RenderHooks{}
		}
		doc.Manifests.Hooks.Before = append(doc.Manifests.Hooks.Before, h.Before...)
		doc.Manifests.Hooks.After = append(doc.Manifests.Hooks.After, h.After...)
	}
	if k := c.Deploy.Kubectl; k != nil {
		doc.Manifests.RawYAML = k.Manifests
		for _, z := range k.Kustomizations {
			if doc.Manifests.Kustomize == nil {
				doc.Manifests.Kustomize = &Kustomize{BuildArgs: z.BuildArgs}
			}
			doc.Manifests.Kustomize.Paths = append(doc.Manifests.Kustomize.Paths, z.Path)
		}
		kubectl := *k
		kubectl.Manifests, kubectl.Kustomizations, kubectl.Helm = nil, nil, nil
		doc.Deploy.Kubectl = &kubectl
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// MarshalYAML writes the value as it was read.
func (r Raw) MarshalYAML() (any, error) { return r.Node, nil }

// IsZero tells the encoder's omitempty that nothing was read.
func (r Raw) IsZero() bool { return r.Node == nil }
