package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

const renderHooks = `manifests:
  rawYaml: [k8s/*.yaml]
  kustomize: {paths: [overlay]}
  hooks:
    before:
    - host:
        command: [sh, -c, 'echo before > before.txt']
        os: [linux, darwin]
    after:
    - host:
        command: [kubeconform, -strict]
        dir: tools
    - host:
        command: [sed, 's/a/b/']
        withChange: true
deploy:
  kubectl: {}
`

func TestRenderHooksLoad(t *testing.T) {
	dir := tree(t, map[string]string{"skaffold.yaml": head + renderHooks})
	cfg, err := config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []*config.RenderHooks{{
		Before: []config.RenderHook{{Host: &config.HostHook{Command: []string{"sh", "-c", "echo before > before.txt"},
			OS: []string{"linux", "darwin"}, Dir: dir}}},
		After: []config.PostRenderHook{
			{Host: &config.PostRenderHostHook{HostHook: config.HostHook{Command: []string{"kubeconform", "-strict"}, Dir: filepath.Join(dir, "tools")}}},
			{Host: &config.PostRenderHostHook{HostHook: config.HostHook{Command: []string{"sed", "s/a/b/"}, Dir: dir}, WithChange: true}},
		},
		Manifests:      []string{filepath.Join(dir, "k8s/*.yaml")},
		Kustomizations: []string{filepath.Join(dir, "overlay")},
	}}
	if diff := cmp.Diff(want, cfg.RenderHooks); diff != "" {
		t.Errorf("render hooks (-want +got):\n%s", diff)
	}
	// The hooks' own manifests are the kubectl deployer's.
	if diff := cmp.Diff(cfg.Deploy.Kubectl.Manifests, cfg.RenderHooks[0].Manifests); diff != "" {
		t.Errorf("the hooks' manifests are not the deployer's (-deployer +hooks):\n%s", diff)
	}

	// hoist diagnose writes them back, and what it writes reads as the
	// same config.
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"  hooks:\n    before:\n      - host:\n", "        withChange: true\n"} {
		if !strings.Contains(string(out), line) {
			t.Errorf("the YAML lacks %q:\n%s", line, out)
		}
	}
	again, err := config.Parse("effective.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	again.File, again.Dir, again.Files, again.Modules = cfg.File, cfg.Dir, cfg.Files, cfg.Modules
	if diff := cmp.Diff(cfg, again, cmpopts.IgnoreUnexported(config.Config{}, config.TagPolicy{})); diff != "" {
		t.Errorf("read back (-first +again):\n%s\n%s", diff, out)
	}
}

// The releases of manifests.helm, and of deploy.helm, are the config's own.
func TestRenderHooksOwnHelmReleases(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(head+`manifests:
  helm:
    releases: [{name: web, chartPath: chart}]
  hooks:
    after: [{host: {command: [cat]}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.RenderHooks[0]; len(h.Releases) != 1 || h.Releases[0] != cfg.HelmManifests.Releases[0] {
		t.Errorf("the hooks' releases are %v, want the config's %v", h.Releases, cfg.HelmManifests.Releases)
	}
}

func TestRenderHooksErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		// want is the error: file:line:column: path: message.
		want, hint string
	}{
		{"an empty command", "manifests:\n  hooks:\n    before:\n    - host: {command: []}\n",
			`skaffold.yaml:6:23: manifests.hooks.before[0].host.command: a hook needs a command`, "command: [sh, -c, 'echo hello']"},
		{"an empty program", "manifests:\n  hooks:\n    after:\n    - host:\n        withChange: true\n        command: ['']\n",
			`skaffold.yaml:8:18: manifests.hooks.after[0].host.command: a hook needs a command`, ""},
		{"no command", "manifests:\n  hooks:\n    after:\n    - host: {dir: .}\n",
			`skaffold.yaml:6:13: manifests.hooks.after[0].host: missing required field "command"`, ""},
		{"no host", "manifests:\n  hooks:\n    before:\n    - {}\n",
			`skaffold.yaml:6:7: manifests.hooks.before[0]: a render hook needs host, the command to run on the host`, "- host: {command:"},
		{"a container hook", "manifests:\n  hooks:\n    before:\n    - container: {command: [ls], podName: web}\n",
			`skaffold.yaml:6:7: manifests.hooks.before[0]: unknown field "container" in manifests.hooks.before[0]`, "host"},
		{"withChange before rendering", "manifests:\n  hooks:\n    before:\n    - host: {command: [ls], withChange: true}\n",
			`skaffold.yaml:6:29: manifests.hooks.before[0].host: unknown field "withChange" in manifests.hooks.before[0].host`, ""},
		{"withChange not a boolean", "manifests:\n  hooks:\n    after:\n    - host: {command: [ls], withChange: yes please}\n",
			`skaffold.yaml:6:41: manifests.hooks.after[0].host.withChange: expected true or false, got the string "yes please"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("skaffold.yaml", []byte(head+tt.yaml))
			f := fault.As(err)
			if f == nil || f.Code != fault.ConfigInvalid {
				t.Fatalf("error %v, want %s", err, fault.ConfigInvalid)
			}
			if f.Message != tt.want {
				t.Errorf("error:\n  %s\nwant:\n  %s", f.Message, tt.want)
			}
			if tt.hint != "" && !strings.Contains(strings.Join(f.Suggestions, " "), tt.hint) {
				t.Errorf("suggestions %q do not mention %q", f.Suggestions, tt.hint)
			}
		})
	}
}

// Every config's render hooks run, each in its own folder and given its
// own manifests; a profile can add them.
func TestRenderHooksOfSeveralConfigs(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml": head + `requires: [{path: svc}]
manifests:
  rawYaml: [k8s/*.yaml]
  hooks:
    before: [{host: {command: [echo, root]}}]
deploy: {kubectl: {}}
`,
		"svc/skaffold.yaml": head + `manifests:
  rawYaml: [k8s/*.yaml]
deploy: {kubectl: {}}
profiles:
- name: hooked
  activation: [{command: render}]
  manifests:
    rawYaml: [k8s/*.yaml]
    hooks:
      after: [{host: {command: [sed, s/a/b/], withChange: true, dir: tools}}]
`,
	})
	cfg, err := config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{Command: "render"})
	if err != nil {
		t.Fatal(err)
	}
	svc := filepath.Join(dir, "svc")
	want := []*config.RenderHooks{
		{After: []config.PostRenderHook{{Host: &config.PostRenderHostHook{
			HostHook: config.HostHook{Command: []string{"sed", "s/a/b/"}, Dir: filepath.Join(svc, "tools")}, WithChange: true}}},
			Manifests: []string{filepath.Join(svc, "k8s/*.yaml")}},
		{Before: []config.RenderHook{{Host: &config.HostHook{Command: []string{"echo", "root"}, Dir: dir}}},
			Manifests: []string{filepath.Join(dir, "k8s/*.yaml")}},
	}
	if diff := cmp.Diff(want, cfg.RenderHooks); diff != "" {
		t.Errorf("render hooks (-want +got):\n%s", diff)
	}

	// Without the profile, svc has none.
	cfg, err = config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{Command: "run"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RenderHooks) != 1 || cfg.RenderHooks[0].Before[0].Host.Command[1] != "root" {
		t.Errorf("render hooks without the profile: %+v", cfg.RenderHooks)
	}
}

// Every hook needs a command: one without would have nothing to run.
func TestHooksWithoutACommand(t *testing.T) {
	_, err := config.Parse("skaffold.yaml", []byte(head+`build:
  hooks:
    before: [{command: []}]
  artifacts:
  - image: a
    hooks:
      after:
      - command: [echo]
      - command: ['']
deploy:
  kubectl:
    hooks:
      after:
      - host: {command: []}
      - container: {command: [], podName: a-*}
  helm:
    hooks:
      before: [{host: {command: []}}]
`))
	want := []string{
		"skaffold.yaml:5:24: build.hooks.before[0].command: a hook needs a command",
		"skaffold.yaml:11:18: build.artifacts[0].hooks.after[1].command: a hook needs a command",
		"skaffold.yaml:16:25: deploy.kubectl.hooks.after[0].host.command: a hook needs a command",
		"skaffold.yaml:17:30: deploy.kubectl.hooks.after[1].container.command: a hook needs a command",
		"skaffold.yaml:20:33: deploy.helm.hooks.before[0].host.command: a hook needs a command",
	}
	f := fault.As(err)
	if f == nil {
		t.Fatalf("error %v, want %s", err, fault.ConfigInvalid)
	}
	if diff := cmp.Diff(strings.Join(want, "\n"), f.Message); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
