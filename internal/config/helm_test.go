package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
)

func TestHelmConfigs(t *testing.T) {
	t.Run("a v2 helm deployer", func(t *testing.T) {
		t.Chdir(tree(t, map[string]string{"skaffold.yaml": `apiVersion: skaffold/v2beta29
kind: Config
build:
  artifacts: [{image: app}]
deploy:
  helm:
    releases:
    - name: web
      chartPath: charts/web
      artifactOverrides: {image: app}
      setValues: {replicas: 2, resources: {limits: {cpu: 1}}}
`}))
		cfg, err := config.Load("skaffold.yaml", config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Deployer() != "helm" || cfg.Deploy.Kubectl != nil || cfg.HelmManifests == nil {
			t.Fatalf("deployer %q, kubectl %v, manifests.helm %v", cfg.Deployer(), cfg.Deploy.Kubectl, cfg.HelmManifests)
		}
		r := cfg.Deploy.Helm.Releases[0]
		want := config.FlatMap{{Key: "replicas", Value: "2"}, {Key: "resources.limits.cpu", Value: "1"}}
		if diff := cmp.Diff(want, r.SetValues); diff != "" {
			t.Errorf("setValues (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(config.FlatMap{{Key: "image", Value: "{{.IMAGE_FULLY_QUALIFIED_app}}"}}, r.SetValueTemplates); diff != "" {
			t.Errorf("artifactOverrides became (-want +got):\n%s", diff)
		}
		wd, _ := os.Getwd()
		if r.ChartPath != filepath.Join(wd, "charts/web") {
			t.Errorf("chartPath %q", r.ChartPath)
		}
		// What diagnose prints loads again, to the same releases.
		data, err := cfg.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("printed.yaml", data, 0o644); err != nil {
			t.Fatal(err)
		}
		again, err := config.Load("printed.yaml", config.Options{})
		if err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		if diff := cmp.Diff(cfg.Deploy.Helm.Releases, again.Deploy.Helm.Releases, cmp.Comparer(func(a, b config.Raw) bool { return (a.Node == nil) == (b.Node == nil) })); diff != "" {
			t.Errorf("releases after a round trip (-before +after):\n%s", diff)
		}
	})
	t.Run("manifests.helm without deploy.helm renders for kubectl", func(t *testing.T) {
		t.Chdir(tree(t, map[string]string{"skaffold.yaml": "apiVersion: skaffold/v4beta14\nkind: Config\n" +
			"manifests:\n  helm:\n    releases: [{name: web, remoteChart: oci://reg/charts/web, version: 1.0.0}]\n"}))
		cfg, err := config.Load("skaffold.yaml", config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Deployer() != "kubectl" || cfg.Deploy.Kubectl.Helm == nil || cfg.Deploy.Kubectl.Helm.Releases[0].RemoteChart != "oci://reg/charts/web" {
			t.Errorf("deployer %q, kubectl %+v", cfg.Deployer(), cfg.Deploy.Kubectl)
		}
	})
}
