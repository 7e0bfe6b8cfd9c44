package config_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

const seedConfig = `apiVersion: skaffold.dev/v2beta28
kind: Config
build:
  artifacts:
  - image: my-app
    docker:
      dockerfile: Dockerfile
deploy:
  kubectl:
    manifests:
    - k8s/*
event:
  log:
    level: info
    format: json
`

func TestSeedConfig(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(seedConfig))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ImageNames(); !cmp.Equal(got, []string{"my-app"}) {
		t.Errorf("images = %v", got)
	}
	if cfg.Deployer() != "kubectl" || !cmp.Equal(cfg.Deploy.Kubectl.Manifests, []string{"k8s/*"}) {
		t.Errorf("deploy = %+v", cfg.Deploy.Kubectl)
	}
	if cfg.Build.TagPolicy.GitCommit == nil || cfg.Build.TagPolicy.GitCommit.Variant != "Tags" {
		t.Errorf("default tag policy = %+v", cfg.Build.TagPolicy)
	}
	if cfg.Deploy.StatusCheckDeadlineSeconds != 600 || cfg.Concurrency() != 1 || cfg.Push() {
		t.Errorf("defaults: deadline %d, concurrency %d, push %v", cfg.Deploy.StatusCheckDeadlineSeconds, cfg.Concurrency(), cfg.Push())
	}
}

func TestV4Layout(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(`apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: a
    custom:
      buildCommand: ./build.sh
manifests:
  rawYaml: [k8s/deployment.yaml]
deploy:
  kubectl: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(cfg.Deploy.Kubectl.Manifests, []string{"k8s/deployment.yaml"}) {
		t.Errorf("manifests = %v", cfg.Deploy.Kubectl.Manifests)
	}
}

func TestMultiDocument(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(seedConfig+"---\n"+`apiVersion: skaffold/v2beta28
kind: Config
build:
  artifacts:
  - image: other
deploy:
  kubectl:
    manifests: [more/*.yaml]
`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-app", "other"}, cfg.ImageNames()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"k8s/*", "more/*.yaml"}, cfg.Deploy.Kubectl.Manifests); diff != "" {
		t.Error(diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		code       fault.Code
		// want is the start of the error: file:line:column and what.
		want, hint string
	}{
		{"unknown field", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    contxt: .\n",
			fault.ConfigInvalid, `skaffold.yaml:6:5: build.artifacts[0]: unknown field "contxt" in build.artifacts[0]`, `did you mean "context"?`},
		{"unknown top-level", "apiVersion: skaffold/v2beta28\nkind: Config\nbiuld: {}\n",
			fault.ConfigInvalid, `skaffold.yaml:3:1: unknown field "biuld" in the top level`, `did you mean "build"?`},
		{"bad indentation", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n     context: .\n",
			fault.ConfigInvalid, `skaffold.yaml:6:6: YAML syntax error: mapping values are not allowed in this context`, "indentation"},
		{"wrong type", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  local:\n    push: yes please\n",
			fault.ConfigInvalid, `skaffold.yaml:5:11: build.local.push: expected true or false, got the string "yes please"`, ""},
		{"list expected", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts: my-app\n",
			fault.ConfigInvalid, `skaffold.yaml:4:14: build.artifacts: expected a list, got the string "my-app"`, ""},
		{"missing required", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - context: .\n",
			fault.ConfigInvalid, `skaffold.yaml:5:5: build.artifacts[0]: missing required field "image"`, ""},
		{"missing apiVersion", "kind: Config\n",
			fault.ConfigInvalid, `skaffold.yaml:1:1: missing required top-level field "apiVersion"`, ""},
		{"unsupported", "apiVersion: skaffold/v2beta28\nkind: Config\ndeploy:\n  cloudrun: {}\n",
			fault.ConfigUnsupport, `skaffold.yaml:4:3: deploy: "cloudrun" is a Skaffold field that hoist does not support yet`, ""},
		{"log prefix", "apiVersion: skaffold/v4beta14\nkind: Config\ndeploy:\n  logs:\n    prefix: podAndContainers\n",
			fault.ConfigInvalid, `skaffold.yaml:5:13: deploy.logs.prefix: "podAndContainers" is not one of auto, container, podAndContainer, none`, `did you mean "podAndContainer"?`},
		{"empty jsonParse field", "apiVersion: skaffold/v4beta14\nkind: Config\ndeploy:\n  logs:\n    jsonParse: {fields: [msg, \"\"]}\n",
			fault.ConfigInvalid, `skaffold.yaml:5:31: deploy.logs.jsonParse.fields[1]: a field name must not be empty`, ""},
		{"bad apiVersion", "apiVersion: v1\nkind: Config\n",
			fault.ConfigInvalid, `skaffold.yaml:1:13: apiVersion: unsupported apiVersion "v1"`, "skaffold/v1alpha1 through skaffold/v4beta14"},
		{"bad level", "apiVersion: skaffold/v2beta28\nkind: Config\nevent:\n  log:\n    level: infoo\n",
			fault.ConfigInvalid, `skaffold.yaml:5:12: event.log.level: "infoo" is not one of debug, info, warn, error`, `did you mean "info"?`},
		{"two builders", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    docker: {}\n    custom: {buildCommand: x}\n",
			fault.ConfigInvalid, `skaffold.yaml:5:5: build.artifacts[0]: artifact "a" names two builders`, ""},
		{"v3 manifests in v2", "apiVersion: skaffold/v2beta28\nkind: Config\nmanifests:\n  rawYaml: [a.yaml]\n",
			fault.ConfigInvalid, `skaffold.yaml:3:1: manifests: manifests needs apiVersion skaffold/v3 or later`, "deploy.kubectl.manifests"},
		{"tab", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n\tlocal: {}\n",
			fault.ConfigInvalid, `skaffold.yaml:4:2: YAML syntax error`, "tabs"},
		{"sync sets two kinds", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    sync:\n      infer: ['**/*']\n      auto: true\n",
			fault.ConfigInvalid, `skaffold.yaml:7:7: build.artifacts[0].sync: sync sets 2 of manual, infer and auto`, "choose one"},
		{"sync src not a pattern", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    sync:\n      infer: ['www/[a']\n",
			fault.ConfigInvalid, `skaffold.yaml:7:15: build.artifacts[0].sync.infer[0]: "www/[a" is not a valid pattern`, "bracket"},
		{"portForward of an unknown kind", "apiVersion: skaffold/v4beta14\nkind: Config\nportForward:\n- {resourceType: deploymnt, resourceName: web, port: 8080}\n",
			fault.ConfigInvalid, `skaffold.yaml:4:18: portForward[0].resourceType: "deploymnt" is not one of pod, deployment`, `did you mean "deployment"?`},
		{"another platform", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    platforms: [linux/s390x]\n",
			fault.ConfigUnsupport, `skaffold.yaml:6:17: build.artifacts[0].platforms[0]: platform linux/s390x: hoist builds for this machine's platform only`, "buildx"},
		{"requires an unknown artifact", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    requires: [{image: b}]\n",
			fault.ConfigInvalid, `skaffold.yaml:6:24: build.artifacts[0].requires[0].image: artifact "a" requires "b", which no config builds`, ""},
		{"artifacts that require each other", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    requires: [{image: b}]\n  - image: b\n    requires: [{image: a}]\n",
			fault.ConfigInvalid, `skaffold.yaml:6:15: build.artifacts[0].requires: artifacts require each other: a -> b -> a`, ""},
		{"an alias no build argument can have", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    requires: [{image: my-base}]\n  - image: my-base\n",
			fault.ConfigInvalid, `skaffold.yaml:6:16: build.artifacts[0].requires[0]: alias "my-base" of artifact "a" is not a name`, "set alias"},
		{"duplicate key", "apiVersion: skaffold/v2beta28\nkind: Config\nkind: Config\n",
			fault.ConfigInvalid, `skaffold.yaml:3:1: field "kind" is set twice`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("skaffold.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			f := fault.As(err)
			if f == nil || f.Code != tt.code || f.Exit() != fault.ExitConfig {
				t.Fatalf("error %v: want code %s, exit %d", err, tt.code, fault.ExitConfig)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n  %s\nwant it to start with:\n  %s", err, tt.want)
			}
			if tt.hint != "" && !strings.Contains(strings.Join(f.Suggestions, " "), tt.hint) {
				t.Errorf("suggestions %q do not mention %q", f.Suggestions, tt.hint)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
		hints      []string
	}{
		{"two in one document", "apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n  - image: a\nevent:\n  log:\n    level: infoo\n",
			[]string{
				`skaffold.yaml:6:12: build.artifacts[1].image: image "a" is configured twice`,
				`skaffold.yaml:9:12: event.log.level: "infoo" is not one of debug, info, warn, error`,
			},
			[]string{`skaffold.yaml:9:12: did you mean "info"?`}},
		{"one in each document", "apiVersion: skaffold/v2beta28\nkind: Config\nevent:\n  log:\n    format: jsn\n---\napiVersion: skaffold/v4beta14\nkind: Config\nbiuld: {}\n",
			[]string{
				`skaffold.yaml:5:13: event.log.format: "jsn" is not one of json, text, auto`,
				`skaffold.yaml:9:1: unknown field "biuld" in the top level`,
			},
			[]string{`skaffold.yaml:5:13: did you mean "json"?`, `skaffold.yaml:9:1: did you mean "build"?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("skaffold.yaml", []byte(tt.yaml))
			f := fault.As(err)
			if f == nil || f.Code != fault.ConfigInvalid || f.Exit() != fault.ExitConfig {
				t.Fatalf("error %v: want code %s, exit %d", err, fault.ConfigInvalid, fault.ExitConfig)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("problems, one a line (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.hints, f.Suggestions); diff != "" {
				t.Errorf("suggestions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    context: sub\nevent:\n  log:\n    file: out/events.jsonl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Build.Artifacts[0].Context; got != filepath.Join(dir, "sub") {
		t.Errorf("context = %s", got)
	}
	if got := cfg.Event.Log.File; got != filepath.Join(dir, "out/events.jsonl") {
		t.Errorf("event log file = %s", got)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yaml"), config.Options{}); fault.CodeOf(err) != fault.ConfigNotFound {
		t.Errorf("missing file: %v", err)
	}
}

func TestSyncAndPortForward(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(`apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    platforms: [`+runtime.GOOS+"/"+runtime.GOARCH+`]
    sync:
      manual:
      - {src: 'static/**', dest: /srv, strip: static/}
portForward:
- {resourceType: deployment, resourceName: web, port: 8080, localPort: 9000}
- {resourceType: Service, resourceName: web, port: http}
deploy:
  kubeContext: staging
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Build.Artifacts[0].Sync.Manual[0]; r.Src != "static/**" || r.Dest != "/srv" || r.Strip != "static/" {
		t.Errorf("sync rule = %+v", r)
	}
	if pf := cfg.PortForward; len(pf) != 2 || pf[0].Port.Int != 8080 || pf[0].LocalPort != 9000 || pf[1].Port.Str != "http" {
		t.Errorf("portForward = %+v %+v", pf[0], pf[1])
	}
	if cfg.Deploy.KubeContext != "staging" {
		t.Errorf("kubeContext = %q", cfg.Deploy.KubeContext)
	}
}

func TestCustomTemplate(t *testing.T) {
	cfg, err := config.Parse("skaffold.yaml", []byte(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy:
    customTemplate:
      template: "{{.FOO}}_{{.GIT}}"
      components:
      - name: FOO
        dateTime: {format: "2006"}
  artifacts: [{image: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ct := cfg.Build.TagPolicy.CustomTemplate
	if ct == nil || len(ct.Components) != 1 || ct.Components[0].Name != "FOO" || ct.Components[0].DateTime.Format != "2006" || cfg.Build.TagPolicy.GitCommit != nil {
		t.Errorf("tagPolicy = %+v", cfg.Build.TagPolicy)
	}
}
