package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		name     string
		doc      document
		want     *Config
		wantErrs []*Error
	}{
		{"manifests.rawYaml become the kubectl deployer's",
			document{APIVersion: "skaffold/v4beta14", Kind: "Config",
				Pipeline: Pipeline{Manifests: manifests{RawYAML: []string{"k8s/deployment.yaml"}}}},
			&Config{Deploy: Deploy{Kubectl: &KubectlDeploy{Manifests: []string{"k8s/deployment.yaml"}}}}, nil},
		{"manifests join the kubectl settings",
			document{APIVersion: "skaffold/v4beta14", Kind: "Config",
				Pipeline: Pipeline{Manifests: manifests{RawYAML: []string{"a.yaml"}},
					Deploy: Deploy{Kubectl: &KubectlDeploy{DefaultNamespace: "team"}}}},
			&Config{Deploy: Deploy{Kubectl: &KubectlDeploy{Manifests: []string{"a.yaml"}, DefaultNamespace: "team"}}}, nil},
		{"every other section carries over",
			document{APIVersion: "skaffold/v4beta14", Kind: "Config",
				Metadata: Metadata{Name: "shop"},
				Pipeline: Pipeline{Build: Build{Artifacts: []*Artifact{{ImageName: "app"}}}},
				Event:    Event{Log: EventLog{Level: "warn"}, RPC: EventRPC{Address: "localhost:50051"}}},
			&Config{Metadata: Metadata{Name: "shop"},
				Build: Build{Artifacts: []*Artifact{{ImageName: "app"}}},
				Event: Event{Log: EventLog{Level: "warn"}, RPC: EventRPC{Address: "localhost:50051"}}}, nil},
		{"not a config",
			document{APIVersion: "skaffold/v4beta14", Kind: "Deployment"},
			nil, []*Error{{Path: "kind", Message: `unsupported kind "Deployment"`, Hint: "use kind: Config"}}},
		{"deploy.kubectl.manifests written in v3 or later",
			document{APIVersion: "skaffold/v4beta14", Kind: "Config",
				Pipeline: Pipeline{Deploy: Deploy{Kubectl: &KubectlDeploy{Manifests: []string{"k8s/*"}}}}},
			&Config{Deploy: Deploy{Kubectl: &KubectlDeploy{Manifests: []string{"k8s/*"}}}},
			[]*Error{{Path: "deploy.kubectl.manifests", Message: "deploy.kubectl.manifests is the v2beta layout",
				Hint: "with skaffold/v4beta14, list manifests under manifests.rawYaml"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := convert(&tt.doc, atPath)
			if got != nil {
				if got.APIVersion != tt.doc.APIVersion {
					t.Errorf("APIVersion = %q, want it as written, %q", got.APIVersion, tt.doc.APIVersion)
				}
				got.APIVersion = ""
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Config{}, TagPolicy{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
