package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/config"
)

const v1beta13Config = `apiVersion: skaffold/v1beta13
kind: Config
# builds the web app
build:
  tagPolicy:
    sha256: {}
  artifacts:
  - image: web # the image
    context: app
    jibMaven: {module: web}
  - image: api
    docker: {dockerfile: Dockerfile.api}
deploy:
  kubectl:
    manifests: [k8s/*.yaml]
profiles:
- name: docker-only
  build:
    artifacts:
    - image: web
      context: app
`

func TestFixUpgradesAndTheResultLoads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, file, []byte(v1beta13Config))
	r := runPlain(t.Context(), "fix", "-f", file)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"apiVersion: " + config.LatestVersion, "# builds the web app", "jib:", "type: maven", "rawYaml:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fix's output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The default pipeline builds web with jib, which hoist does not have;
	// the profile that builds it with docker loads.
	if _, err := config.ParseWith("fixed.yaml", []byte(r.stdout), config.Options{Profiles: []string{"docker-only"}}); err != nil {
		t.Errorf("the upgraded config does not load with -p docker-only: %v", err)
	}

	r = runPlain(t.Context(), "fix", "-f", file, "--overwrite")
	if r.code != 0 {
		t.Fatalf("--overwrite: exit %d\n%s", r.code, r.stderr)
	}
	if backup, _ := os.ReadFile(file + ".v2"); string(backup) != v1beta13Config {
		t.Errorf("the backup holds %q", backup)
	}
	if now, _ := os.ReadFile(file); !strings.HasPrefix(string(now), "apiVersion: "+config.LatestVersion) {
		t.Errorf("the file now holds %q", now)
	}
	if r = runPlain(t.Context(), "fix", "-f", file); r.code != 0 || !strings.Contains(r.stderr, "already version") || r.stdout != "" {
		t.Errorf("a second fix: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestDiagnose(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, file, []byte(v1beta13Config))
	r := runPlain(t.Context(), "diagnose", "-f", file, "-p", "docker-only")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Configuration version: skaffold/v1beta13", "Profiles applied: docker-only",
		"Number of artifacts: 1", "apiVersion: " + config.LatestVersion, "context: " + filepath.Join(dir, "app")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("diagnose's output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "profiles:") {
		t.Errorf("the effective config still has its profiles:\n%s", r.stdout)
	}
	yamlOnly := runPlain(t.Context(), "diagnose", "-f", file, "-p", "docker-only", "--yaml-only")
	if !strings.HasPrefix(yamlOnly.stdout, "apiVersion: ") {
		t.Errorf("--yaml-only printed %q", yamlOnly.stdout)
	}
	// Without the profile, jib is used: refused, at its line.
	r = runPlain(t.Context(), "diagnose", "-f", file)
	if r.code == 0 || !strings.Contains(r.stderr, "skaffold.yaml:10:") || !strings.Contains(r.stderr, "jib") {
		t.Errorf("the default pipeline: exit %d\n%s", r.code, r.stderr)
	}
}

// verify and customActions are kept: run and diagnose load the config, and
// hoist verify and hoist exec say they are not supported yet.
func TestVerifyAndCustomActionsAreKept(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, file, []byte(`apiVersion: skaffold/v4beta14
kind: Config
verify:
- name: smoke
  container: {name: smoke, image: curlimages/curl, command: [curl, http://web]}
customActions:
- name: seed
  containers: [{name: seed, image: busybox}]
`))
	if r := runPlain(t.Context(), "diagnose", "-f", file, "--yaml-only"); r.code != 0 || !strings.Contains(r.stdout, "name: smoke") || !strings.Contains(r.stdout, "name: seed") {
		t.Errorf("diagnose: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, cmd := range []string{"verify", "exec"} {
		r := runPlain(t.Context(), cmd, "-f", file)
		if r.code != 2 || !strings.Contains(r.stderr, "not supported yet") {
			t.Errorf("hoist %s: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
}
