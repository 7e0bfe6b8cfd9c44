package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// upgradeOne upgrades the one document of in and returns it decoded, with
// the notes.
func upgradeOne(t *testing.T, in string) (any, []string, []*Error) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(in), &root); err != nil {
		t.Fatal(err)
	}
	notes, errs := upgradeDocument(root.Content[0], func(n *yaml.Node, format string, args ...any) *Error {
		return &Error{File: "skaffold.yaml", Line: n.Line, Column: n.Column, Message: format}
	})
	var out any
	if err := root.Content[0].Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out, notes, errs
}

func yamlValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpgrade(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"v1alpha1: the first layout", `apiVersion: skaffold/v1alpha1
kind: Config
build:
  tagPolicy: sha256
  artifacts:
  - imageName: app
    workspace: ./app
    dockerfilePath: Dockerfile.prod
    buildArgs: {MODE: prod}
  local:
    skipPush: true
deploy:
  name: old
  kubectl:
    manifests:
    - paths: [k8s/a.yaml, k8s/b.yaml]
    - paths: [k8s/c.yaml]
`, `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {sha256: {}}
  artifacts:
  - image: app
    context: ./app
    docker: {dockerfile: Dockerfile.prod, buildArgs: {MODE: prod}}
  local: {push: false}
deploy:
  kubectl: {}
manifests:
  rawYaml: [k8s/a.yaml, k8s/b.yaml, k8s/c.yaml]
`},
		{"v1beta9: a sync map becomes manual rules", `apiVersion: skaffold/v1beta9
kind: Config
build:
  artifacts:
  - image: app
    sync:
      'src/*.py': /app/src
`, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
    sync:
      manual:
      - {src: 'src/*.py', dest: /app/}
`},
		{"v1beta13: jibMaven becomes jib", `apiVersion: skaffold/v1beta13
kind: Config
build:
  artifacts:
  - image: app
    jibMaven: {module: svc, profile: prod, args: [-q]}
`, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
    jib: {project: svc, args: [-q, --activate-profiles, prod], type: maven}
`},
		{"v2beta29: kustomize renders for kubectl, helm both renders and deploys", `apiVersion: skaffold/v2beta29
kind: Config
deploy:
  kustomize:
    paths: [overlays/dev]
    defaultNamespace: dev
  helm:
    releases:
    - name: web
      chartPath: charts/web
      artifactOverrides: {image: gcr.io/p/web-app}
`, `apiVersion: skaffold/v4beta14
kind: Config
deploy:
  kubectl: {defaultNamespace: dev}
  helm:
    releases:
    - name: web
      chartPath: charts/web
      setValueTemplates: {image: '{{.IMAGE_FULLY_QUALIFIED_gcr_io_p_web_app}}'}
manifests:
  kustomize: {paths: [overlays/dev]}
  helm:
    releases:
    - name: web
      chartPath: charts/web
      setValueTemplates: {image: '{{.IMAGE_FULLY_QUALIFIED_gcr_io_p_web_app}}'}
`},
		{"v2beta28, the seed's spelling: profiles and their patches move too", `apiVersion: skaffold.dev/v2beta28
kind: Config
deploy:
  kubectl:
    manifests: [k8s/*.yaml]
profiles:
- name: prod
  deploy:
    kubectl:
      manifests: [prod/*.yaml]
  patches:
  - op: add
    path: /deploy/kubectl/manifests/-
    value: extra.yaml
`, `apiVersion: skaffold/v4beta14
kind: Config
deploy:
  kubectl: {}
manifests:
  rawYaml: [k8s/*.yaml]
profiles:
- name: prod
  deploy:
    kubectl: {}
  manifests:
    rawYaml: [prod/*.yaml]
  patches:
  - op: add
    path: /manifests/rawYaml/-
    value: extra.yaml
`},
		{"v3: remote manifests move with their kube context", `apiVersion: skaffold/v3
kind: Config
deploy:
  kubeContext: prod
  kubectl:
    remoteManifests: [deployment/web]
`, `apiVersion: skaffold/v4beta14
kind: Config
deploy:
  kubeContext: prod
  kubectl: {}
manifests:
  remoteManifests:
  - {manifest: deployment/web, kubeContext: prod}
`},
		{"latest stays as written", `apiVersion: skaffold/v4beta14
kind: Config
build: {artifacts: [{image: a}]}
`, `apiVersion: skaffold/v4beta14
kind: Config
build: {artifacts: [{image: a}]}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, errs := upgradeOne(t, tt.in)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if diff := cmp.Diff(yamlValue(t, tt.want), got); diff != "" {
				t.Errorf("upgraded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpgradeErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"acr", "apiVersion: skaffold/v1alpha5\nkind: Config\nbuild:\n  acr: {}\n", "skaffold.yaml:4:3: build.acr is not supported"},
		{"kpt", "apiVersion: skaffold/v2beta29\nkind: Config\ndeploy:\n  kpt: {dir: .}\n", "skaffold.yaml:4:3: deploy.kpt cannot be upgraded"},
		{"namespaces that differ", "apiVersion: skaffold/v2beta29\nkind: Config\ndeploy:\n  kubectl: {defaultNamespace: a}\n  kustomize: {defaultNamespace: b}\n",
			"skaffold.yaml:5:33: deploy.kustomize.defaultNamespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, errs := upgradeOne(t, tt.in)
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Errorf("errors %v, want one starting %q", errs, tt.want)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	if len(versions) != 72 || versions[0] != "skaffold/v1alpha1" || versions[len(versions)-1] != LatestVersion {
		t.Errorf("%d versions, %s to %s", len(versions), versions[0], versions[len(versions)-1])
	}
}
