package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// tree writes files (path: content) under a new folder and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const head = "apiVersion: skaffold/v4beta14\nkind: Config\n"

func TestRequires(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml": head + `metadata: {name: root}
requires:
- path: svc
  activeProfiles:
  - {name: small, activatedBy: [ci]}
  - {name: always}
- path: lib/more.yaml
  configs: [wanted]
build:
  artifacts: [{image: root-app}]
manifests: {rawYaml: [k8s/*.yaml]}
deploy: {kubectl: {}}
profiles:
- name: ci
`,
		"svc/skaffold.yaml": head + `metadata: {name: svc}
build:
  artifacts: [{image: svc-app, context: src}]
manifests: {rawYaml: [k8s/*.yaml]}
deploy: {kubectl: {}}
profiles:
- name: small
  build: {local: {concurrency: 7}}
- name: always
  patches:
  - {op: add, path: /build/artifacts/0/docker, value: {dockerfile: Dockerfile.svc}}
`,
		"lib/more.yaml": head + "metadata: {name: skipped}\nbuild: {artifacts: [{image: skipped}]}\n---\n" +
			head + "metadata: {name: wanted}\nbuild: {artifacts: [{image: wanted}]}\n",
	})
	cfg, err := config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{Profiles: []string{"ci"}})
	if err != nil {
		t.Fatal(err)
	}
	// Required configs come first; their paths are their own folder's.
	if diff := cmp.Diff([]string{"svc-app", "wanted", "root-app"}, cfg.ImageNames()); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if got := cfg.Build.Artifacts[0].Context; got != filepath.Join(dir, "svc", "src") {
		t.Errorf("svc-app's context = %s", got)
	}
	if got := cfg.Build.Artifacts[0].Docker.Dockerfile; got != "Dockerfile.svc" {
		t.Errorf("the always-active profile's patch: dockerfile = %s", got)
	}
	if diff := cmp.Diff([]string{filepath.Join(dir, "svc", "k8s/*.yaml"), filepath.Join(dir, "k8s/*.yaml")}, cfg.Deploy.Kubectl.Manifests); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
	var svc config.Module
	for _, m := range cfg.Modules {
		if m.Name == "svc" {
			svc = m
		}
	}
	if diff := cmp.Diff([]string{"small", "always"}, svc.Profiles); diff != "" {
		t.Errorf("svc's profiles (-want +got):\n%s", diff)
	}
	// The root's settings run the whole: its concurrency, not svc's.
	if cfg.Metadata.Name != "root" || cfg.Concurrency() != 1 {
		t.Errorf("the merged config is %q with concurrency %d", cfg.Metadata.Name, cfg.Concurrency())
	}

	// -m keeps a module and what it requires.
	only, err := config.Load(filepath.Join(dir, "svc", "skaffold.yaml"), config.Options{Modules: []string{"svc"}})
	if err != nil || !cmp.Equal(only.ImageNames(), []string{"svc-app"}) {
		t.Errorf("-m svc: %v %v", only.ImageNames(), err)
	}
}

func TestRequiresErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		o     config.Options
		code  fault.Code
		want  string
	}{
		{"cycle", map[string]string{
			"skaffold.yaml":   head + "requires:\n- path: b\n",
			"b/skaffold.yaml": head + "requires:\n- path: ../c.yaml\n",
			"c.yaml":          head + "requires:\n- path: skaffold.yaml\n",
		}, config.Options{}, fault.ConfigInvalid, "c.yaml:4:9: requires[0].path: requires makes a cycle: skaffold.yaml -> b/skaffold.yaml -> c.yaml -> skaffold.yaml"},
		{"missing", map[string]string{"skaffold.yaml": head + "requires:\n- path: nowhere\n"},
			config.Options{}, fault.ConfigInvalid, "skaffold.yaml:4:9: requires[0].path: required config nowhere does not exist"},
		{"git", map[string]string{"skaffold.yaml": head + "requires:\n- git: {repo: https://example.com/x.git}\n"},
			config.Options{}, fault.ConfigUnsupport, "skaffold.yaml:4:8: requires[0].git: requires.git fetches the config over the network"},
		{"one image in two configs", map[string]string{
			"skaffold.yaml": head + "requires:\n- path: b.yaml\nbuild: {artifacts: [{image: a}]}\n",
			"b.yaml":        head + "build: {artifacts: [{image: a}]}\n",
		}, config.Options{}, fault.ConfigInvalid, `skaffold.yaml:5:29: build.artifacts[0].image: image "a" is configured by more than one config`},
		{"unknown profile", map[string]string{"skaffold.yaml": head + "profiles: [{name: dev}]\n"},
			config.Options{Profiles: []string{"prod"}}, fault.ConfigInvalid, `skaffold.yaml:1:1: profile "prod" given with -p is not defined in any config`},
		{"unknown module", map[string]string{"skaffold.yaml": head + "metadata: {name: a}\n"},
			config.Options{Modules: []string{"b"}}, fault.ConfigInvalid, `skaffold.yaml:1:1: module "b" given with -m is not the metadata.name of any config`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tree(t, tt.files)
			t.Chdir(dir)
			_, err := config.Load("skaffold.yaml", tt.o)
			if fault.CodeOf(err) != tt.code || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n%v\nwant %s starting\n%s", err, tt.code, tt.want)
			}
		})
	}
}

// The multi-config example of this repository: profiles activated by env,
// kube context and command, patches, and requires.
func TestMultiConfigExample(t *testing.T) {
	file := filepath.Join(testutil.Root(t), "examples", "multi-config", "skaffold.yaml")
	t.Setenv("CI", "")
	tests := []struct {
		name    string
		env     string
		o       config.Options
		images  []string
		profile map[string][]string
		args    map[string]string
	}{
		{"default", "", config.Options{Command: "run"}, []string{"shop-backend", "shop-frontend"},
			map[string][]string{"backend": nil, "frontend": nil, "shop": nil}, nil},
		{"on CI: ci, and compact through activeProfiles", "true", config.Options{Command: "run"}, []string{"shop-backend", "shop-frontend"},
			map[string][]string{"shop": {"ci"}, "frontend": {"compact"}}, map[string]string{"PAGE": "compact"}},
		{"dev, on a prod cluster", "", config.Options{Command: "dev", KubeContext: func() (string, error) { return "prod-eu", nil }},
			[]string{"shop-backend", "shop-frontend"}, map[string][]string{"backend": {"production"}, "frontend": {"quick-dev"}},
			map[string]string{"MODE": "production"}},
		{"-m frontend", "", config.Options{Command: "run", Modules: []string{"frontend"}}, []string{"shop-backend", "shop-frontend"}, nil, nil},
		{"-m backend", "", config.Options{Command: "run", Modules: []string{"backend"}}, []string{"shop-backend"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.env)
			cfg, err := config.Load(file, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.images, cfg.ImageNames()); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			for _, m := range cfg.Modules {
				if want, ok := tt.profile[m.Name]; ok && !cmp.Equal(want, m.Profiles) {
					t.Errorf("%s's profiles = %v, want %v", m.Name, m.Profiles, want)
				}
			}
			for k, v := range tt.args {
				found := false
				for _, a := range cfg.Build.Artifacts {
					if p := a.Docker.BuildArgs[k]; p != nil && *p == v {
						found = true
					}
				}
				if !found {
					t.Errorf("no artifact has build argument %s=%s", k, v)
				}
			}
		})
	}
}
