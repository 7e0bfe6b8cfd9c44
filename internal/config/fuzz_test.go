package config_test

import (
	"testing"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// FuzzParse feeds the loader arbitrary files: it must return a config or a
// config error, never panic, and fix must not either.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		seedConfig,
		profiled,
		"apiVersion: skaffold/v1alpha1\nkind: Config\nbuild:\n  tagPolicy: sha256\n  artifacts:\n  - imageName: a\n    workspace: .\n    dockerfilePath: D\ndeploy:\n  kubectl:\n    manifests:\n    - paths: [a.yaml]\n",
		"apiVersion: skaffold/v1beta9\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    sync:\n      '*.py': /app\n",
		"apiVersion: skaffold/v2beta29\nkind: Config\ndeploy:\n  kustomize: {paths: [.]}\n  helm: {releases: [{name: a, chartPath: c, artifactOverrides: {image: a}}]}\nprofiles:\n- name: p\n  patches: [{path: /deploy/helm/releases/0/namespace, value: x}]\n",
		"apiVersion: skaffold/v4beta14\nkind: Config\nprofiles:\n- name: p\n  activation: [{env: A=b}, {command: dev}]\n  patches: [{op: move, from: /kind, path: /x}]\n---\napiVersion: skaffold/v3\nkind: Config\n",
		"apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - {image: a, requires: [{image: b}]}\n  - {image: b, requires: [{image: a}]}\n",
	} {
		f.Add([]byte(seed), "p")
	}
	f.Fuzz(func(t *testing.T, data []byte, profile string) {
		for _, o := range []config.Options{{}, {Profiles: []string{profile}}, {Command: "dev", NoAutoActivation: true}} {
			cfg, err := config.ParseWith("skaffold.yaml", data, o)
			if err == nil && cfg == nil {
				t.Fatal("no config and no error")
			}
			if err != nil {
				if c := fault.CodeOf(err); c != fault.ConfigInvalid && c != fault.ConfigUnsupport {
					t.Fatalf("error of code %s: %v", c, err)
				}
				continue
			}
			if _, err := cfg.YAML(); err != nil {
				t.Fatalf("the config loads but does not write: %v", err)
			}
		}
		_, _, _, _ = config.Upgrade("skaffold.yaml", data)
	})
}
