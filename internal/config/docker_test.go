package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

const dockerDeploy = head + `build:
  artifacts:
  - image: web
  - image: api
deploy:
  docker:
    images: [web, api]
portForward:
- {resourceType: container, resourceName: web, port: 8080, localPort: 9080}
- {resourceType: Container, resourceName: API, port: 9000, address: localhost}
`

func TestDockerDeploy(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(dockerDeploy))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&config.DockerDeploy{Images: []string{"web", "api"}}, cfg.Deploy.Docker); diff != "" {
		t.Errorf("deploy.docker (-want +got):\n%s", diff)
	}
	if got := cfg.Deployer(); got != "docker" {
		t.Errorf("Deployer() = %q, want docker", got)
	}
	// hoist diagnose prints the config back, and what it prints loads the same.
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "  docker:\n    images:\n      - web\n      - api\n") {
		t.Errorf("the effective config has no deploy.docker:\n%s", out)
	}
	again, err := config.Parse("diagnose.yaml", out)
	if err != nil {
		t.Fatalf("the effective config does not load: %v\n%s", err, out)
	}
	if diff := cmp.Diff(cfg.Deploy.Docker, again.Deploy.Docker); diff != "" {
		t.Errorf("deploy.docker after a round trip (-want +got):\n%s", diff)
	}
}

func TestDeployer(t *testing.T) {
	for _, tt := range []struct {
		deploy string
		want   string
	}{
		{"deploy: {}\n", ""},
		{"manifests: {rawYaml: [k8s/*.yaml]}\ndeploy: {kubectl: {}}\n", "kubectl"},
		{"deploy: {docker: {images: [web]}}\n", "docker"},
		{"manifests: {rawYaml: [k8s/*.yaml]}\ndeploy: {kubectl: {}, docker: {images: [web]}}\n", "kubectl,docker"},
	} {
		cfg, err := config.Parse("skaffold.yaml", []byte(head+"build: {artifacts: [{image: web}]}\n"+tt.deploy))
		if err != nil {
			t.Fatalf("%s: %v", tt.deploy, err)
		}
		if got := cfg.Deployer(); got != tt.want {
			t.Errorf("%s: Deployer() = %q, want %q", tt.deploy, got, tt.want)
		}
	}
}

// Skaffold wrote deploy.docker from skaffold/v2beta23 on, in the same
// shape it has now: the upgrade to the latest apiVersion keeps it.
func TestDockerDeployUpgrades(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(`apiVersion: skaffold/v2beta23
kind: Config
build:
  artifacts: [{image: web}]
deploy:
  docker:
    images: [web]
  kubectl:
    manifests: [k8s/*.yaml]
portForward:
- {resourceType: container, resourceName: web, port: 8080}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Deploy.Docker == nil || !cmp.Equal(cfg.Deploy.Docker.Images, []string{"web"}) {
		t.Errorf("deploy.docker = %+v", cfg.Deploy.Docker)
	}
	if cfg.Deploy.Kubectl == nil || !cmp.Equal(cfg.Deploy.Kubectl.Manifests, []string{"k8s/*.yaml"}) {
		t.Errorf("deploy.kubectl = %+v", cfg.Deploy.Kubectl)
	}
}

func TestDockerDeployErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		code       fault.Code
		// want are the problems, one a line, each file:line:column: path: message.
		want []string
		hint string
	}{
		{"docker compose", head + "build: {artifacts: [{image: web}]}\ndeploy:\n  docker:\n    useCompose: true\n    images: [web]\n",
			fault.ConfigUnsupport, []string{`skaffold.yaml:6:17: deploy.docker.useCompose: hoist does not deploy with docker compose yet`}, "remove useCompose"},
		{"no images field", head + "deploy:\n  docker: {}\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:4:11: deploy.docker: missing required field "images"`}, ""},
		{"no image", head + "deploy:\n  docker:\n    images: []\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:5:13: deploy.docker.images: deploy.docker.images lists no image to run`}, "images: [my-app]"},
		{"an image listed twice", head + "build: {artifacts: [{image: web}]}\ndeploy:\n  docker:\n    images: [web, web]\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:6:19: deploy.docker.images[1]: image "web" is listed twice`}, ""},
		{"an image no artifact builds", head + "build:\n  artifacts:\n  - image: web\n  - image: api\ndeploy:\n  docker:\n    images:\n    - web\n    - apj\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:11:7: deploy.docker.images[1]: deploy.docker.images names "apj", which no artifact of the run builds`}, `did you mean "api"?`},
		{"a container port by name", head + "build: {artifacts: [{image: web}]}\ndeploy: {docker: {images: [web]}}\nportForward:\n- resourceType: container\n  resourceName: web\n  port: http\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:8:9: portForward[0].port: port "http" of a container is not a number`}, "port: 8080"},
		{"a container port on every address", head + "build: {artifacts: [{image: web}]}\ndeploy: {docker: {images: [web]}}\nportForward:\n- resourceType: container\n  resourceName: web\n  port: 8080\n  address: 0.0.0.0\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:9:12: portForward[0].address: a container's port is published on 127.0.0.1 only, not on 0.0.0.0`}, "set it to 127.0.0.1"},
		{"a container port of no image run", head + "build: {artifacts: [{image: web}]}\ndeploy: {docker: {images: [web]}}\nportForward:\n- resourceType: container\n  resourceName: webb\n  port: 8080\n",
			fault.ConfigInvalid, []string{`skaffold.yaml:7:17: portForward[0].resourceName: resourceName "webb" names no image of deploy.docker.images`}, "one of web"},
		{"every problem of the document", head + "build: {artifacts: [{image: web}]}\ndeploy:\n  docker:\n    useCompose: true\n    images: [web]\nportForward:\n- {resourceType: container, resourceName: web, port: 80, address: 10.0.0.1}\n",
			fault.ConfigInvalid, []string{
				`skaffold.yaml:6:17: deploy.docker.useCompose: hoist does not deploy with docker compose yet`,
				`skaffold.yaml:9:67: portForward[0].address: a container's port is published on 127.0.0.1 only, not on 10.0.0.1`,
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("skaffold.yaml", []byte(tt.yaml))
			f := fault.As(err)
			if f == nil || f.Code != tt.code {
				t.Fatalf("error %v: want code %s", err, tt.code)
			}
			if diff := cmp.Diff(tt.want, strings.Split(f.Message, "\n")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if tt.hint != "" && !strings.Contains(strings.Join(f.Suggestions, " "), tt.hint) {
				t.Errorf("suggestions %q do not mention %q", f.Suggestions, tt.hint)
			}
		})
	}
}

// Without deploy.docker, container ports are left alone, as Skaffold's
// Kubernetes deployers leave them: a profile may choose the deployer.
func TestContainerPortsWithoutDockerDeploy(t *testing.T) {
	_, err := config.Parse("skaffold.yaml", []byte(head+"build: {artifacts: [{image: web}]}\nportForward:\n- {resourceType: container, resourceName: anything, port: 8080}\n"))
	if err != nil {
		t.Fatal(err)
	}
}

// The images of several configs run together; each may name an artifact
// of another config of the run.
func TestDockerDeployOfSeveralConfigs(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml": head + `requires: [{path: api}]
build: {artifacts: [{image: web}]}
deploy:
  docker: {images: [web, api]}
`,
		"api/skaffold.yaml": head + `build: {artifacts: [{image: api}, {image: worker}]}
deploy:
  docker: {images: [worker, api]}
`,
	})
	cfg, err := config.Load(filepath.Join(dir, "skaffold.yaml"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"worker", "api", "web"}, cfg.Deploy.Docker.Images); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
}
