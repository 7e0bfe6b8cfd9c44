package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestRenderAndApplyExamples renders each example with the images built
// earlier, checks the output holds the built references, and applies it.
func TestRenderAndApplyExamples(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	for _, tc := range []struct{ example, deployment string }{
		{"getting-started", "getting-started"}, {"kustomize", "web-dev"}, {"helm", "helm-app"},
	} {
		t.Run(tc.example, func(t *testing.T) {
			cfg := filepath.Join(testutil.Root(t), "examples", tc.example, "skaffold.yaml")
			artifacts := filepath.Join(t.TempDir(), "artifacts.json")
			r := run(t, t.Context(), "build", "-f", cfg, "--default-repo", docker.Registry, "--file-output", artifacts,
				"--cache-file", filepath.Join(t.TempDir(), "cache.json"))
			if r.code != 0 {
				t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
			}
			built, err := build.ReadArtifacts(artifacts, nil)
			if err != nil {
				t.Fatal(err)
			}
			ref := built[0].Reference()

			// To standard output, with no events there.
			r = runPlain(t.Context(), "render", "-f", cfg, "-n", ns, "--build-artifacts", artifacts)
			if r.code != 0 {
				t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
			}
			for _, want := range []string{"image: " + ref, "namespace: " + ns, "hoist.dev/run-id: "} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("the rendering lacks %q:\n%s", want, r.stdout)
				}
			}
			if strings.Contains(r.stdout, `"kind":"Event"`) {
				t.Errorf("events among the manifests:\n%s", r.stdout)
			}

			// To a file, with the events on standard output; then applied.
			out := filepath.Join(t.TempDir(), "manifests.yaml")
			r = run(t, t.Context(), "render", "-f", cfg, "-n", ns, "--build-artifacts", artifacts, "-o", out)
			if r.code != 0 {
				t.Fatalf("render -o: exit %d\n%s", r.code, r.stderr)
			}
			var rendered *pb.RenderEvent
			for _, e := range r.events {
				if re := e.Event.GetRenderEvent(); re != nil {
					rendered = re
				}
			}
			if rendered == nil || rendered.Status != pb.Status_SUCCEEDED || len(rendered.Manifests) == 0 {
				t.Errorf("renderEvent %v", rendered)
			}
			if data, _ := os.ReadFile(out); !strings.Contains(string(data), "image: "+ref) {
				t.Errorf("%s lacks the built image:\n%s", out, data)
			}
			r = run(t, t.Context(), "apply", out, "-f", cfg, "-n", ns)
			if r.code != 0 {
				t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
			}
			checkRun(t, r.events, pb.Status_SUCCEEDED)
			dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), tc.deployment, metav1.GetOptions{})
			if err != nil || dep.Spec.Template.Spec.Containers[0].Image != ref || dep.Status.AvailableReplicas < 1 {
				t.Errorf("after apply: %v %v", err, dep.Spec.Template.Spec.Containers)
			}
		})
	}
}

func TestRenderDigestSources(t *testing.T) {
	testutil.Render(t)
	cfg := filepath.Join(testutil.Root(t), "examples", "getting-started", "skaffold.yaml")
	// Offline, with the images as written: no cluster, no registry.
	r := runPlain(t.Context(), "render", "-f", cfg, "--offline", "--digest-source", "none")
	if r.code != 0 || !strings.Contains(r.stdout, "image: getting-started\n") || strings.Contains(r.stdout, "namespace:") {
		t.Errorf("--offline --digest-source none: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runPlain(t.Context(), "render", "-f", cfg, "--offline", "--digest-source", "tag", "--tag", "v7", "--default-repo", "reg.example")
	if r.code != 0 || !strings.Contains(r.stdout, "image: reg.example/getting-started:v7\n") {
		t.Errorf("--digest-source tag: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runPlain(t.Context(), "render", "-f", cfg, "--offline", "--digest-source", "sideways")
	if r.code == 0 || !strings.Contains(r.stderr, `--digest-source "sideways" is not local, remote, tag or none`) {
		t.Errorf("a bad --digest-source: exit %d\n%s", r.code, r.stderr)
	}
	// remote asks the registry, which does not have this tag.
	docker := testutil.Docker(t)
	r = runPlain(t.Context(), "render", "-f", cfg, "--offline", "--tag", "never-built", "--default-repo", docker.Registry)
	if r.code == 0 || !strings.Contains(r.stderr, "the registry has no digest of "+docker.Registry+"/getting-started:never-built") {
		t.Errorf("a tag that is not in the registry: exit %d\n%s", r.code, r.stderr)
	}
}
