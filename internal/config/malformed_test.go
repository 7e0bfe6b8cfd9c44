package config_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

var located = regexp.MustCompile(`^[\w./-]+\.ya?ml:\d+:\d+: `)

// A corpus of broken configs: each is refused, nothing runs, and the error
// starts with file:line:column and says what is wrong.
func TestMalformedCorpus(t *testing.T) {
	const v = "apiVersion: skaffold/v4beta14\nkind: Config\n"
	one := func(body string) map[string]string { return map[string]string{"skaffold.yaml": v + body} }
	tests := []struct {
		name  string
		files map[string]string
		o     config.Options
		says  string
	}{
		// Profiles.
		{"profile without a name", one("profiles:\n- build: {}\n"), config.Options{}, `missing required field "name"`},
		{"profile named twice", one("profiles:\n- name: a\n- name: a\n"), config.Options{}, `profile "a" is defined twice`},
		{"profile that is a string", one("profiles:\n- dev\n"), config.Options{}, "expected a mapping"},
		{"profiles that are a mapping", one("profiles: {name: a}\n"), config.Options{}, "expected a list"},
		{"unknown field in a profile", one("profiles:\n- name: a\n  bulid: {}\n"), config.Options{}, `unknown field "bulid"`},
		{"unknown field in a profile's build", one("profiles:\n- name: a\n  build: {artefacts: []}\n"), config.Options{}, `unknown field "artefacts"`},
		{"activation that is not a list", one("profiles:\n- name: a\n  activation: {env: A=b}\n"), config.Options{}, "expected a list"},
		{"unknown activation field", one("profiles:\n- name: a\n  activation: [{environment: A=b}]\n"), config.Options{}, `unknown field "environment"`},
		{"requiresAllActivations not a boolean", one("profiles:\n- name: a\n  requiresAllActivations: sometimes\n"), config.Options{}, "expected true or false"},
		{"-p names no profile", one("profiles: [{name: a}]\n"), config.Options{Profiles: []string{"b"}}, `profile "b" given with -p is not defined`},
		// Activation values.
		{"env without =", one("profiles:\n- name: a\n  activation: [{env: PROD}]\n"), config.Options{}, `env "PROD" is not KEY=VALUE`},
		{"env without a key", one("profiles:\n- name: a\n  activation: [{env: =prod}]\n"), config.Options{}, "is not KEY=VALUE"},
		{"env value that is not a regexp", one("profiles:\n- name: a\n  activation: [{env: 'STAGE=[prod'}]\n"), config.Options{}, "is not a regular expression"},
		{"kubeContext that is not a regexp", one("profiles:\n- name: a\n  activation: [{kubeContext: 'prod-(eu'}]\n"), config.Options{}, "is not a regular expression"},
		{"command that is not a regexp", one("profiles:\n- name: a\n  activation: [{command: '*dev'}]\n"), config.Options{}, "is not a regular expression"},
		{"negated regexp that is not one", one("profiles:\n- name: a\n  activation: [{command: '!(dev'}]\n"), config.Options{}, "is not a regular expression"},
		// Patches.
		{"patch to a missing key", one("build: {}\nprofiles:\n- name: a\n  patches: [{op: replace, path: /build/local/push, value: true}]\n"),
			config.Options{Profiles: []string{"a"}}, "does not exist"},
		{"patch past the end of a list", one("build: {artifacts: [{image: x}]}\nprofiles:\n- name: a\n  patches: [{path: /build/artifacts/3/image, value: y}]\n"),
			config.Options{Profiles: []string{"a"}}, `no item "3"`},
		{"patch with an unknown op", one("profiles:\n- name: a\n  patches: [{op: merge, path: /build}]\n"), config.Options{Profiles: []string{"a"}}, `unknown op "merge"`},
		{"patch path without a slash", one("profiles:\n- name: a\n  patches: [{op: add, path: build, value: {}}]\n"), config.Options{Profiles: []string{"a"}}, "must start with /"},
		{"patch without a path", one("profiles:\n- name: a\n  patches: [{op: add, value: 1}]\n"), config.Options{}, `missing required field "path"`},
		{"move without from", one("profiles:\n- name: a\n  patches: [{op: move, path: /x}]\n"), config.Options{Profiles: []string{"a"}}, "move needs from"},
		{"copy from nowhere", one("profiles:\n- name: a\n  patches: [{op: copy, from: /nowhere, path: /x}]\n"), config.Options{Profiles: []string{"a"}}, "from: /nowhere does not exist"},
		{"remove of a missing key", one("profiles:\n- name: a\n  patches: [{op: remove, path: /deploy}]\n"), config.Options{Profiles: []string{"a"}}, "/deploy does not exist"},
		{"test that fails", one("metadata: {name: x}\nprofiles:\n- name: a\n  patches: [{op: test, path: /metadata/name, value: y}]\n"), config.Options{Profiles: []string{"a"}}, "test failed"},
		{"patch that makes the config invalid", one("profiles:\n- name: a\n  patches: [{op: add, path: /build, value: {artifacts: 3}}]\n"), config.Options{Profiles: []string{"a"}}, "expected a list"},
		// requires.
		{"requires itself", one("requires: [{path: skaffold.yaml}]\n"), config.Options{}, "requires makes a cycle: config #1 of skaffold.yaml requires itself"},
		{"a cycle of two files", map[string]string{"skaffold.yaml": v + "requires: [{path: b}]\n", "b/skaffold.yaml": v + "requires: [{path: ..}]\n"},
			config.Options{}, "requires makes a cycle"},
		{"a cycle of three files", map[string]string{"skaffold.yaml": v + "requires: [{path: b.yaml}]\n", "b.yaml": v + "requires: [{path: c.yaml}]\n", "c.yaml": v + "requires: [{path: b.yaml}]\n"},
			config.Options{}, "requires makes a cycle: b.yaml -> c.yaml -> b.yaml"},
		{"a required file that is missing", one("requires: [{path: other.yaml}]\n"), config.Options{}, "required config other.yaml does not exist"},
		{"a required folder without skaffold.yaml", map[string]string{"skaffold.yaml": v + "requires: [{path: svc}]\n", "svc/README": "x"},
			config.Options{}, "required config svc/skaffold.yaml does not exist"},
		{"a required config that is broken", map[string]string{"skaffold.yaml": v + "requires: [{path: b.yaml}]\n", "b.yaml": v + "biuld: {}\n"},
			config.Options{}, `unknown field "biuld"`},
		{"requires over git", one("requires: [{git: {repo: https://example.com/r.git}}]\n"), config.Options{}, "fetches the config over the network"},
		{"activeProfiles without a name", one("requires: [{path: b.yaml, activeProfiles: [{activatedBy: [x]}]}]\n"), config.Options{}, `missing required field "name"`},
		{"-m names no config", one("metadata: {name: a}\n"), config.Options{Modules: []string{"b"}}, `module "b" given with -m`},
		// The rest of the schema.
		{"an apiVersion Skaffold never had", map[string]string{"skaffold.yaml": "apiVersion: skaffold/v9\nkind: Config\n"}, config.Options{}, `unsupported apiVersion "skaffold/v9"`},
		{"not a Config", map[string]string{"skaffold.yaml": "apiVersion: skaffold/v4beta14\nkind: Deployment\n"}, config.Options{}, `unsupported kind "Deployment"`},
		{"manifests in a v2 config", map[string]string{"skaffold.yaml": "apiVersion: skaffold/v2beta28\nkind: Config\nmanifests: {rawYaml: [a.yaml]}\n"},
			config.Options{}, "manifests needs apiVersion skaffold/v3"},
		{"an upgrade that cannot be done", map[string]string{"skaffold.yaml": "apiVersion: skaffold/v2beta29\nkind: Config\ndeploy: {kpt: {dir: .}}\n"},
			config.Options{}, "deploy.kpt cannot be upgraded"},
		{"an artifact that requires itself", one("build:\n  artifacts:\n  - {image: a, requires: [{image: a}]}\n"), config.Options{}, "artifacts require each other: a -> a"},
		{"a hook without a command", one("build:\n  hooks: {before: [{dir: .}]}\n"), config.Options{}, `missing required field "command"`},
		{"a sync rule without dest", one("build:\n  artifacts:\n  - {image: a, sync: {manual: [{src: '*.html'}]}}\n"), config.Options{}, `missing required field "dest"`},
		{"a port that is a list", one("portForward: [{resourceType: pod, resourceName: a, port: [80]}]\n"), config.Options{}, "expected a port number or name"},
		// Helm and kustomize.
		{"a release without a chart", one("deploy:\n  helm:\n    releases: [{name: web}]\n"), config.Options{}, `release "web" needs chartPath or remoteChart`},
		{"a release with two charts", one("deploy:\n  helm:\n    releases: [{name: web, chartPath: c, remoteChart: oci://r/c}]\n"), config.Options{}, "sets both chartPath and remoteChart"},
		{"a release name Helm refuses", one("deploy:\n  helm:\n    releases: [{name: Web_App, chartPath: c}]\n"), config.Options{}, `"Web_App" is not a valid Helm release name`},
		{"a helm flag hoist does not know", one("deploy:\n  helm:\n    flags: {upgrade: [--post-renderer=x]}\n    releases: [{name: web, chartPath: c}]\n"), config.Options{}, `upgrade flag "--post-renderer=x"`},
		{"a setValueTemplate that does not parse", one("manifests:\n  helm:\n    releases: [{name: web, chartPath: c, setValueTemplates: {image: '{{.IMAGE'}}]\ndeploy: {kubectl: {}}\n"), config.Options{}, `the template of "image" does not parse`},
		{"setValues that are a list", one("deploy:\n  helm:\n    releases: [{name: web, chartPath: c, setValues: [a]}]\n"), config.Options{}, "expected a mapping"},
		{"helm secrets", one("deploy:\n  helm:\n    releases: [{name: web, chartPath: c, useHelmSecrets: true}]\n"), config.Options{}, "helm-secrets plugin"},
		{"kustomize paths that are a string", one("manifests:\n  kustomize: {paths: k8s}\ndeploy: {kubectl: {}}\n"), config.Options{}, "expected a list"},
		{"a tab", map[string]string{"skaffold.yaml": v + "build:\n\tlocal: {}\n"}, config.Options{}, "YAML syntax error"},
	}
	if len(tests) < 40 {
		t.Fatalf("the corpus has %d configs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(tree(t, tt.files))
			_, err := config.Load("skaffold.yaml", tt.o)
			f := fault.As(err)
			if f == nil || (f.Code != fault.ConfigInvalid && f.Code != fault.ConfigUnsupport) {
				t.Fatalf("error %v, want a config error", err)
			}
			if !located.MatchString(err.Error()) || !strings.Contains(err.Error(), tt.says) || strings.Contains(err.Error(), "goroutine") {
				t.Errorf("error\n%v\nwant file:line:col: ... %s", err, tt.says)
			}
		})
	}
}
