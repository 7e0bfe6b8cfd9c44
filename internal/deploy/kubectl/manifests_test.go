package kubectl

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
)

func TestSubstituteEveryWorkloadKind(t *testing.T) {
	builds := []build.Result{
		{ImageName: "app", Tag: "127.0.0.1:5000/app:v1", Digest: "sha256:aaa", Pushed: true},
		{ImageName: "sidecar", Tag: "sidecar:v2", Digest: "sha256:local"},
	}
	podSpec := map[string]any{
		"initContainers": []any{map[string]any{"name": "init", "image": "sidecar"}},
		"containers": []any{
			map[string]any{"name": "a", "image": "app:latest"},
			map[string]any{"name": "b", "image": "busybox"},
		},
	}
	for kind, path := range podSpecPaths {
		t.Run(kind, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{"kind": kind}}
			if err := unstructured.SetNestedField(obj.Object, runtimeCopy(podSpec), path...); err != nil {
				t.Fatal(err)
			}
			substitute(obj, builds)
			spec, _, err := unstructured.NestedMap(obj.Object, path...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range []string{"initContainers", "containers"} {
				containers, _, err := unstructured.NestedSlice(spec, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range containers {
					cm, ok := c.(map[string]any)
					if !ok {
						t.Fatalf("%s holds a %T", f, c)
					}
					img, _, err := unstructured.NestedString(cm, "image")
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, img)
				}
			}
			want := []string{"sidecar:v2", "127.0.0.1:5000/app:v1@sha256:aaa", "busybox"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func runtimeCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}

func TestReadMultiDocumentAndLines(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "k8s", "all.yaml"), []byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# nothing\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 80}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := expand(dir, []string{"k8s/*"})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := read(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range objs {
		got = append(got, m.obj.GetKind()+"/"+m.obj.GetName()+"@"+m.file+":"+itoa(m.line))
	}
	if diff := cmp.Diff([]string{"ConfigMap/a@k8s/all.yaml:2", "Service/b@k8s/all.yaml:8"}, got); diff != "" {
		t.Error(diff)
	}
	ports, _, _ := unstructured.NestedSlice(objs[1].obj.Object, "spec", "ports")
	port, ok := ports[0].(map[string]any)
	if !ok {
		t.Fatalf("ports holds a %T", ports[0])
	}
	if p := port["port"]; p != int64(80) {
		t.Errorf("port decoded as %T %v", p, p)
	}
	if _, err := expand(dir, []string{"nothing/*.yaml"}); err == nil || !strings.Contains(err.Error(), "matches no YAML file") {
		t.Errorf("expand of a pattern that matches nothing: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// resourceSelector: allow brings a custom kind's image fields in, deny
// keeps a built-in kind out.
func TestSubstituteResourceSelector(t *testing.T) {
	builds := []build.Result{{ImageName: "app", Tag: "reg/app:v1", Digest: "sha256:aaa", Pushed: true}}
	sel := config.ResourceSelector{
		Allow: []*config.ResourceFilter{{GroupKind: "Job.example.com", Image: []string{`^\.spec\.steps\.\d+\.image$`}}},
		Deny:  []*config.ResourceFilter{{GroupKind: "Deployment.apps"}},
	}
	custom := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Job",
		"spec": map[string]any{
			"steps":   []any{map[string]any{"image": "app"}, map[string]any{"image": "other"}},
			"sidecar": map[string]any{"image": "app"},
		}}}
	substitute(custom, builds, sel)
	steps, _, _ := unstructured.NestedSlice(custom.Object, "spec", "steps")
	side, _, _ := unstructured.NestedString(custom.Object, "spec", "sidecar", "image")
	image := func(v any) string {
		m, _ := v.(map[string]any)
		s, _ := m["image"].(string)
		return s
	}
	if image(steps[0]) != "reg/app:v1@sha256:aaa" || image(steps[1]) != "other" || side != "app" {
		t.Errorf("the custom object's images: steps %v, sidecar %q", steps, side)
	}
	dep := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment"}}
	_ = unstructured.SetNestedField(dep.Object, []any{map[string]any{"name": "a", "image": "app"}}, "spec", "template", "spec", "containers")
	substitute(dep, builds, sel)
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if got := image(cs[0]); got != "app" {
		t.Errorf("a denied Deployment's image became %v", got)
	}
}

// Every object gets the run id label and --label's, and so does every
// workload's pod template, so that the run's pods carry them; the
// template's own labels stay.
func TestLabelPodTemplates(t *testing.T) {
	for kind, path := range podSpecPaths {
		t.Run(kind, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{"kind": kind, "metadata": map[string]any{"name": "x", "labels": map[string]any{"app": "x"}}}}
			if err := unstructured.SetNestedField(obj.Object, map[string]any{"containers": []any{}}, path...); err != nil {
				t.Fatal(err)
			}
			meta := append(slices.Clone(path[:len(path)-1]), "metadata")
			if len(path) > 1 {
				if err := unstructured.SetNestedStringMap(obj.Object, map[string]string{"app": "x"}, append(meta, "labels")...); err != nil {
					t.Fatal(err)
				}
			}
			label(obj, deploy.Labels("run-1", map[string]string{"ide": "idea"}))
			want := map[string]string{"app": "x", "ide": "idea", RunIDLabel: "run-1"}
			if diff := cmp.Diff(want, obj.GetLabels()); diff != "" {
				t.Errorf("the object's labels (-want +got):\n%s", diff)
			}
			if len(path) == 1 {
				return // a Pod is its own template
			}
			got, _, err := unstructured.NestedStringMap(obj.Object, append(meta, "labels")...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the pod template's labels (-want +got):\n%s", diff)
			}
		})
	}
	// A template without metadata gets some; one whose metadata is not a
	// map is left for the API server to refuse.
	dep := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment", "spec": map[string]any{"template": map[string]any{"spec": map[string]any{}}}}}
	label(dep, deploy.Labels("run-2", nil))
	if got, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "metadata", "labels", RunIDLabel); got != "run-2" {
		t.Errorf("a template without metadata: %v", dep.Object)
	}
	odd := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment", "spec": map[string]any{"template": map[string]any{"metadata": "x"}}}}
	label(odd, deploy.Labels("run-3", nil))
	if got, _, _ := unstructured.NestedFieldNoCopy(odd.Object, "spec", "template", "metadata"); got != "x" {
		t.Errorf("a template whose metadata is a string became %v", got)
	}
}
