package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

const profiled = `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy:
    gitCommit: {variant: CommitSha}
  local:
    push: true
    concurrency: 3
  artifacts:
  - image: app
    docker:
      dockerfile: Dockerfile
manifests:
  rawYaml: [k8s/*.yaml]
deploy:
  statusCheckDeadlineSeconds: 90
  kubectl:
    defaultNamespace: base
profiles:
- name: ci
  activation:
  - env: CI=^true$
  build:
    local:
      push: false
- name: dev-only
  activation:
  - command: dev
  deploy:
    statusCheckDeadlineSeconds: 0
    tolerateFailuresUntilDeadline: true
- name: both
  requiresAllActivations: true
  activation:
  - env: HOIST_TEST_STAGE=prod
  - kubeContext: ^prod-
- name: dated
  build:
    tagPolicy:
      dateTime: {}
    artifacts:
    - image: other
      custom: {buildCommand: ./build.sh}
- name: patched
  patches:
  - op: replace
    path: /build/artifacts/0/docker/dockerfile
    value: Dockerfile.dev
  - op: add
    path: /build/artifacts/-
    value: {image: extra}
  - op: remove
    path: /deploy/kubectl/defaultNamespace
  - op: copy
    from: /build/artifacts/0/image
    path: /deploy/kubectl/defaultNamespace
  - op: add
    path: /metadata
    value: {name: patched}
- name: bad-patch
  patches:
  - path: /build/artifacts/5/image
    value: nope
`

func parseProfiles(t *testing.T, o config.Options) *config.Config {
	t.Helper()
	cfg, err := config.ParseWith("skaffold.yaml", []byte(profiled), o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestProfileActivation(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("HOIST_TEST_STAGE", "prod")
	prod := func() (string, error) { return "prod-eu", nil }
	tests := []struct {
		name string
		env  string
		o    config.Options
		// push, deadline, tolerate of the result
		push     bool
		deadline int
		tolerate bool
		images   []string
	}{
		{"none active", "", config.Options{Command: "build"}, true, 90, false, []string{"app"}},
		{"env regexp", "true", config.Options{Command: "build"}, false, 90, false, []string{"app"}},
		{"env regexp is anchored by the pattern only", "untrue", config.Options{Command: "build"}, true, 90, false, []string{"app"}},
		{"command: the zero deadline leaves the base's", "", config.Options{Command: "dev"}, true, 90, true, []string{"app"}},
		{"auto-activation off", "true", config.Options{Command: "dev", NoAutoActivation: true}, true, 90, false, []string{"app"}},
		{"deactivated with -name", "true", config.Options{Command: "dev", Profiles: []string{"-ci"}}, true, 90, true, []string{"app"}},
		{"named, section replaces the artifacts", "", config.Options{Profiles: []string{"dated"}}, true, 90, false, []string{"other"}},
		{"all activations needed: both match", "", config.Options{KubeContext: prod, Profiles: []string{"-dated"}}, true, 90, false, []string{"app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.env)
			cfg := parseProfiles(t, tt.o)
			if cfg.Push() != tt.push || cfg.Deploy.StatusCheckDeadlineSeconds != tt.deadline || cfg.Deploy.TolerateFailuresUntilDeadline != tt.tolerate {
				t.Errorf("push %v, deadline %d, tolerate %v; want %v, %d, %v", cfg.Push(), cfg.Deploy.StatusCheckDeadlineSeconds,
					cfg.Deploy.TolerateFailuresUntilDeadline, tt.push, tt.deadline, tt.tolerate)
			}
			if diff := cmp.Diff(tt.images, cfg.ImageNames()); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProfileOverlay(t *testing.T) {
	t.Setenv("CI", "true")
	cfg := parseProfiles(t, config.Options{Profiles: []string{"dated"}})
	// local is one block: the profile's replaces the base's whole.
	if cfg.Build.Local.Concurrency != nil {
		t.Errorf("local.concurrency = %d, want unset: the profile's local replaces the base's", *cfg.Build.Local.Concurrency)
	}
	// tagPolicy too: dateTime, and no gitCommit beside it.
	if tp := cfg.Build.TagPolicy; tp.DateTime == nil || tp.GitCommit != nil {
		t.Errorf("tagPolicy = %+v", tp)
	}
	// What the profiles do not touch stays.
	if cfg.Deploy.Kubectl.DefaultNamespace != "base" || !cmp.Equal(cfg.Deploy.Kubectl.Manifests, []string{"k8s/*.yaml"}) {
		t.Errorf("kubectl = %+v", cfg.Deploy.Kubectl)
	}
}

func TestProfilePatches(t *testing.T) {
	cfg := parseProfiles(t, config.Options{Profiles: []string{"patched"}})
	if got := cfg.Build.Artifacts[0].Docker.Dockerfile; got != "Dockerfile.dev" {
		t.Errorf("dockerfile = %q", got)
	}
	if diff := cmp.Diff([]string{"app", "extra"}, cfg.ImageNames()); diff != "" {
		t.Error(diff)
	}
	if cfg.Deploy.Kubectl.DefaultNamespace != "app" || cfg.Metadata.Name != "patched" {
		t.Errorf("namespace %q, name %q", cfg.Deploy.Kubectl.DefaultNamespace, cfg.Metadata.Name)
	}
}

func TestProfileErrors(t *testing.T) {
	tests := []struct {
		name string
		o    config.Options
		yaml string
		want string
	}{
		{"patch path missing", config.Options{Profiles: []string{"bad-patch"}}, profiled,
			`skaffold.yaml:62:11: profiles[5].patches[0].path: profile "bad-patch": patch replace /build/artifacts/5/image: /build/artifacts/5 does not exist: no item "5" in a list of 1`},
		{"bad env", config.Options{}, "apiVersion: skaffold/v4beta14\nkind: Config\nprofiles:\n- name: p\n  activation:\n  - env: NOEQUALS\n",
			`skaffold.yaml:6:10: profiles[0].activation[0].env: env "NOEQUALS" is not KEY=VALUE`},
		{"bad regexp", config.Options{}, "apiVersion: skaffold/v4beta14\nkind: Config\nprofiles:\n- name: p\n  activation:\n  - command: \"(dev\"\n",
			`skaffold.yaml:6:14: profiles[0].activation[0].command: "(dev" is not a regular expression: missing closing ): ` + "`(dev`"},
		{"unknown field in an unused profile", config.Options{}, "apiVersion: skaffold/v4beta14\nkind: Config\nprofiles:\n- name: p\n  build:\n    artefacts: []\n",
			`skaffold.yaml:6:5: profiles[0].build: unknown field "artefacts" in profiles[0].build`},
		{"profile defined twice", config.Options{}, "apiVersion: skaffold/v4beta14\nkind: Config\nprofiles:\n- name: p\n- name: p\n",
			`skaffold.yaml:5:9: profiles[1].name: profile "p" is defined twice`},
		{"bad op", config.Options{Profiles: []string{"p"}}, "apiVersion: skaffold/v4beta14\nkind: Config\nprofiles:\n- name: p\n  patches:\n  - {op: merge, path: /kind}\n",
			`skaffold.yaml:6:23: profiles[0].patches[0].path: profile "p": patch merge /kind: unknown op "merge"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseWith("skaffold.yaml", []byte(tt.yaml), tt.o)
			if err == nil {
				t.Fatal("no error")
			}
			if fault.CodeOf(err) != fault.ConfigInvalid || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n%v\nwant it to start with\n%s", err, tt.want)
			}
		})
	}
}

// Builders hoist does not have are refused only where the pipeline uses
// them: here, only with -p gcb or -p jib.
func TestOtherBuildersOnlyWhenUsed(t *testing.T) {
	const cfg = `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
profiles:
- name: gcb
  build:
    googleCloudBuild:
      projectId: my-project
- name: jib
  build:
    artifacts:
    - image: app
      jib: {project: app}
`
	if _, err := config.ParseWith("skaffold.yaml", []byte(cfg), config.Options{}); err != nil {
		t.Fatalf("the default pipeline: %v", err)
	}
	for profile, want := range map[string]string{
		"gcb": "skaffold.yaml:10:7: build.googleCloudBuild: build.googleCloudBuild builds remotely, which hoist does not do",
		"jib": `skaffold.yaml:15:12: build.artifacts[0].jib: artifact "app" is built with jib, a Skaffold builder that hoist does not have`,
	} {
		_, err := config.ParseWith("skaffold.yaml", []byte(cfg), config.Options{Profiles: []string{profile}})
		if fault.CodeOf(err) != fault.ConfigUnsupport || !strings.HasPrefix(fmt.Sprint(err), want) {
			t.Errorf("-p %s: %v\nwant %s", profile, err, want)
		}
	}
}
