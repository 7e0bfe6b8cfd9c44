package cli_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// renderHooksProject writes a config whose manifests are a Deployment of
// image and whose render hooks are hooks (the YAML under
// manifests.hooks), and returns its path.
func renderHooksProject(t *testing.T, image, hooks string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "k8s", "deployment.yaml"), []byte(strings.Replace(deploymentYAML(1, "", ""), "image: app", "image: "+image, 1)))
	cfg := "apiVersion: skaffold/v4beta14\nkind: Config\nmanifests:\n  rawYaml: [k8s/*.yaml]\n  hooks:\n" + hooks +
		"deploy:\n  statusCheckDeadlineSeconds: 120\n  kubectl: {}\n"
	path := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, path, []byte(cfg))
	return path
}

// Render hooks (manifests.hooks) run in hoist render and hoist run: the
// before hook first, the after hooks on the rendered manifests, the one
// withChange changing what is printed and what is applied.
func TestRenderHooksEndToEnd(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	cfg := renderHooksProject(t, docker.BaseImage, `    before:
    - host:
        command: [sh, -c, 'echo "namespaces $SKAFFOLD_NAMESPACES" > before.txt']
    after:
    - host:
        command: [sed, 's/^  labels:$/  labels:\n    hooked: "yes"/']
        withChange: true
    - host:
        command: [sh, -c, 'echo "$(grep -c "hooked: .yes.") objects hooked"']
`)
	marker := filepath.Join(filepath.Dir(cfg), "before.txt")

	r := runPlain(t.Context(), "render", "-f", cfg, "--offline", "--digest-source", "none")
	if r.code != 0 {
		t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "\n    hooked: \"yes\"\n") || !strings.Contains(r.stdout, "hoist.dev/run-id: ") {
		t.Errorf("the rendering lacks the hook's label beside the run's:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "[post-render hook] 1 objects hooked\n") {
		t.Errorf("the second after hook was not given the first one's change, or its output is not shown:\n%s", r.stderr)
	}
	if got := readFile(marker); got != "namespaces \n" {
		t.Errorf("the before hook wrote %q", got)
	}

	r = run(t, t.Context(), "run", "-f", cfg, "-n", ns)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	if got := readFile(marker); got != "namespaces "+ns+"\n" {
		t.Errorf("in hoist run, the before hook wrote %q", got)
	}
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Labels["hooked"] != "yes" || dep.Labels["hoist.dev/run-id"] != r.events[0].EventId {
		t.Errorf("the Deployment's labels are %v, want hooked=yes and the run's id", dep.Labels)
	}

	// hoist delete renders no manifests: the hooks do not run.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	r = run(t, t.Context(), "delete", "-f", cfg, "-n", ns)
	if r.code != 0 {
		t.Fatalf("delete: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("hoist delete ran the before hook: %v", err)
	}
	if _, err := client.AppsV1().Deployments(ns).Get(t.Context(), "app", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment is still there: %v", err)
	}
}

// A render hook that fails fails the deploy, and hoist render, with
// DEPLOY_HOOK_FAILED and what the hook said; nothing is applied.
func TestRenderHookFailureEndToEnd(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	for _, tc := range []struct {
		name, hooks string
		message     []string
	}{
		{"a failing after hook", "    after:\n    - host: {command: [sh, -c, 'echo \"policy says no\" >&2; exit 5']}\n",
			[]string{"post-render hook 1 (sh -c echo \"policy says no\" >&2; exit 5) failed", "exit status 5", "policy says no"}},
		{"a change to nothing", "    after:\n    - host: {command: [sh, -c, 'cat >/dev/null'], withChange: true}\n",
			[]string{"post-render hook 1 (sh -c cat >/dev/null) printed no manifests"}},
		{"a failing before hook", "    before:\n    - host: {command: [sh, -c, 'exit 2'], os: [plan9]}\n    - host: {command: [sh, -c, 'exit 3']}\n",
			[]string{"pre-render hook 2 (sh -c exit 3) failed", "exit status 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := renderHooksProject(t, docker.BaseImage, tc.hooks)
			r := run(t, t.Context(), "run", "-f", cfg, "-n", ns)
			if failed := checkFailure(t, r, fault.ExitDeploy, fault.DeployHookFailed, tc.message); failed.GetDeployEvent() == nil {
				t.Errorf("the failing event is %v, want a FAILED deployEvent", failed)
			}
			if _, err := client.AppsV1().Deployments(ns).Get(t.Context(), "app", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the Deployment was applied: %v", err)
			}

			out := filepath.Join(t.TempDir(), "manifests.yaml")
			r = run(t, t.Context(), "render", "-f", cfg, "--offline", "--digest-source", "none", "-o", out)
			if failed := checkFailure(t, r, fault.ExitDeploy, fault.DeployHookFailed, tc.message); failed.GetRenderEvent() == nil {
				t.Errorf("the failing event is %v, want a FAILED renderEvent", failed)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("render wrote %s: %v", out, err)
			}
		})
	}
}

// Skaffold's own example of lifecycle hooks loads, with its render hooks.
func TestLifecycleHooksExampleLoads(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
	writeFile(t, cfg, []byte(lifecycleHooksExample))
	r := runPlain(t.Context(), "diagnose", "-f", cfg, "--yaml-only")
	if r.code != 0 {
		t.Fatalf("diagnose: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"echo pre-render host hook running on $(hostname)!", "echo post-render host hook running on $(hostname)!"} {
		if !strings.Contains(r.stdout, fmt.Sprintf("- %s\n", want)) {
			t.Errorf("diagnose lacks the render hook %q:\n%s", want, r.stdout)
		}
	}
}

// lifecycleHooksExample is examples/lifecycle-hooks/skaffold.yaml of
// Skaffold (GoogleContainerTools/skaffold), as it is there.
const lifecycleHooksExample = `apiVersion: skaffold/v4beta14
kind: Config
manifests:
  rawYaml:
  - k8s-pod.yaml
  hooks:
    before:
      - host:
          command: ["sh", "-c", "echo pre-render host hook running on $(hostname)!"]
    after:
      - host:
          command: ["sh", "-c", "echo post-render host hook running on $(hostname)!"]
build:
  hooks:
    before:
      - command: ["sh", "-c", "echo pre-build hook running"]
    after:
      - command: ["sh", "-c", "echo post-build hook running"]
  artifacts:
  - image: hooks-example
    hooks:
      before:
        - command: ["sh", "-c", "./hook.sh"]
          os: [darwin, linux]
          dir: .
        - command: ["cmd.exe", "/C", "hook.bat"]
          os: [windows]
          dir: .
      after:
        - command: ["sh", "-c", "docker images $SKAFFOLD_IMAGE --digests"]
          os: [darwin, linux]
        - command: ["cmd.exe", "/C", "docker images %SKAFFOLD_IMAGE% --digests"]
          os: [windows]
    sync:
      manual:
        - src: 'hello.txt'
          dest: .
      hooks:
        before:
          - host:
              command: ["sh", "-c", "echo file changes detected: $SKAFFOLD_FILES_ADDED_OR_MODIFIED"]
              os: [darwin, linux]
          - host:
              command: ["cmd.exe", "/C", "echo file changes detected: %SKAFFOLD_FILES_ADDED_OR_MODIFIED%"]
              os: [windows]
        after:
          - container:
              command: ["sh", "-c", "set -x; kill -HUP 1"]
deploy:
  kubectl:
    hooks:
      before:
        - host:
            command: ["sh", "-c", "echo pre-deploy host hook running on $(hostname)!"]
            os: [darwin, linux]
        - container:
            # this will only run when there's a matching container from a previous deploy iteration like in ` + "`skaffold dev`" + `
            command: ["sh", "-c", "echo pre-deploy container hook running on $(hostname)!"]
            containerName: hooks-example*
            podName: hooks-example-deployment*
      after:
        - host:
            command: ["sh", "-c", "echo post-deploy host hook running on $(hostname)!"]
            os: [darwin, linux]
        - container:
            command: ["sh", "-c", "echo post-deploy container hook running on $(hostname)!"]
            containerName: hooks-example* # use a glob pattern to prefix-match the container name and pod name for deployments, stateful-sets, etc.
            podName: hooks-example-deployment*
`
