package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/render"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// writeChart writes a chart named name into dir/name: a ConfigMap with
// the values' greeting, a Deployment of image, and a test hook.
func writeChart(t *testing.T, dir, name string, extra map[string]string) string {
	t.Helper()
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n",
		"values.yaml": "greeting: hi\nimage: app\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n" +
			"data:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n",
		"templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n" +
			"spec:\n  replicas: 0\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n" +
			"    spec:\n      containers:\n      - name: c\n        image: {{ .Values.image }}\n",
		"templates/tests/ping.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-ping\n" +
			"  annotations: {\"helm.sh/hook\": test}\nspec:\n  containers: [{name: c, image: busybox}]\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	root := filepath.Join(dir, name)
	for f, body := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func call(t *testing.T, op string, r *render.HelmRequest) *render.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	return helm(ctx, op, r, io.Discard)
}

func TestHelmTemplate(t *testing.T) {
	chart := writeChart(t, t.TempDir(), "web", nil)
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("greeting: hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := render.HelmRelease{Name: "site", Namespace: "team", Chart: chart, ValuesFiles: []string{values},
		Set: []string{"image=reg/app:v1"}, Overrides: map[string]any{"greeting": "overridden"}}
	resp := call(t, render.OpHelmTemplate, &render.HelmRequest{Release: rel})
	if resp.Error != nil {
		t.Fatal(resp.Error.Message)
	}
	for _, want := range []string{"name: site-cfg", `greeting: "overridden"`, "image: reg/app:v1", "name: site-ping"} {
		if !strings.Contains(resp.Manifests, want) {
			t.Errorf("the rendering lacks %q:\n%s", want, resp.Manifests)
		}
	}
	rel.SkipTests = true
	if resp := call(t, render.OpHelmTemplate, &render.HelmRequest{Release: rel}); resp.Error != nil || strings.Contains(resp.Manifests, "site-ping") {
		t.Errorf("with skipTests the test hook is rendered: %+v\n%s", resp.Error, resp.Manifests)
	}
	// packaged packages the chart with its own version first.
	rel.Packaged = &config.HelmPackaged{Version: "9.9.9", AppVersion: "2.0"}
	if resp := call(t, render.OpHelmTemplate, &render.HelmRequest{Release: rel}); resp.Error != nil || !strings.Contains(resp.Manifests, `version: "9.9.9"`) {
		t.Errorf("packaged: %+v\n%s", resp.Error, resp.Manifests)
	}
}

func TestHelmErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeChart(t, dir, "good", nil)
	failing := writeChart(t, dir, "failing", map[string]string{"templates/fail.yaml": `{{ fail "greeting must be set" }}`})
	notYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(notYAML, []byte("greeting: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rel  render.HelmRelease
		want string
	}{
		{"no chart", render.HelmRelease{Name: "x", Chart: filepath.Join(dir, "missing")}, "chart " + filepath.Join(dir, "missing") + " does not exist"},
		{"values not YAML", render.HelmRelease{Name: "x", Chart: good, ValuesFiles: []string{notYAML}}, "release x: reading its values"},
		{"values file missing", render.HelmRelease{Name: "x", Chart: good, ValuesFiles: []string{filepath.Join(dir, "nope.yaml")}}, "values file " + filepath.Join(dir, "nope.yaml") + " does not exist"},
		{"template fails", render.HelmRelease{Name: "x", Chart: failing}, "greeting must be set"},
		{"bad --set", render.HelmRelease{Name: "x", Chart: good, Set: []string{"novalue"}}, "reading its values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rel.Namespace = "default"
			resp := call(t, render.OpHelmTemplate, &render.HelmRequest{Release: tc.rel})
			if resp.Error == nil || resp.Error.Code != "DEPLOY_CHART_INVALID" || !strings.Contains(resp.Error.Message, tc.want) {
				t.Errorf("got %+v, want DEPLOY_CHART_INVALID with %q", resp.Error, tc.want)
			}
		})
	}
}

// TestHelmReleases installs, upgrades and uninstalls releases on the test
// environment's cluster, from a local chart, from an OCI registry and from
// an HTTP chart repository.
func TestHelmReleases(t *testing.T) {
	docker := testutil.Docker(t)
	kube := testutil.Kubernetes(t)
	restCfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(restCfg)
	ns := fmt.Sprintf("helm-engine-%d", time.Now().UnixNano()%1_000_000)
	t.Cleanup(func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	dir := t.TempDir()
	local := writeChart(t, dir, "web", nil)

	// The same chart, packaged and pushed to the registry as OCI, and in
	// an HTTP chart repository on loopback.
	pkg := action.NewPackage()
	pkg.Destination = filepath.Join(dir, "repo")
	tgz, err := pkg.Run(local, nil)
	if err != nil {
		t.Fatal(err)
	}
	settings := cli.New()
	settings.RegistryConfig = filepath.Join(dir, "registry.json")
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	pushCfg := action.NewConfiguration()
	pushCfg.RegistryClient = rc
	push := action.NewPushWithOpts(action.WithPushConfig(pushCfg), action.WithPlainHTTP(true))
	push.Settings = settings
	if _, err := push.Run(tgz, "oci://"+docker.Registry+"/charts"); err != nil {
		t.Fatalf("pushing the chart: %v", err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "repo"))))
	t.Cleanup(srv.Close)
	idx, err := repo.IndexDirectory(filepath.Join(dir, "repo"), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "repo", "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}

	builds := []build.Result{{ImageName: "app", Tag: docker.Registry + "/app:v1", Digest: "sha256:" + strings.Repeat("a", 64), Pushed: true}}
	for _, tc := range []struct {
		name string
		rel  render.HelmRelease
	}{
		{"local", render.HelmRelease{Name: "from-dir", Chart: local, CreateNamespace: true}},
		{"oci", render.HelmRelease{Name: "from-oci", Chart: "oci://" + docker.Registry + "/charts/web", Version: "0.1.0", CreateNamespace: true}},
		{"repository", render.HelmRelease{Name: "from-repo", Chart: "web", Repo: srv.URL, Version: "0.1.0", CreateNamespace: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rel.Namespace = ns
			req := &render.HelmRequest{Kubeconfig: kube.Kubeconfig, Release: tc.rel, Builds: builds, RunID: "run-1"}
			resp := call(t, render.OpHelmUpgrade, req)
			if resp.Error != nil {
				t.Fatal(resp.Error.Message)
			}
			if r := resp.Release; r == nil || r.Revision != 1 || r.Chart != "web" || r.ChartVersion != "0.1.0" || r.Status != "deployed" || r.Previous != "" {
				t.Errorf("first deploy: %+v", resp.Release)
			}
			if _, err := client.CoreV1().Secrets(ns).Get(t.Context(), "sh.helm.release.v1."+tc.rel.Name+".v1", metav1.GetOptions{}); err != nil {
				t.Errorf("the release's secret: %v", err)
			}
			// The post-renderer put the built image in and the run's label on.
			dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), tc.rel.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dep.Spec.Template.Spec.Containers[0].Image; got != builds[0].Tag+"@"+builds[0].Digest {
				t.Errorf("image %q, want the built tag@digest", got)
			}
			if dep.Labels["hoist.dev/run-id"] != "run-1" {
				t.Errorf("labels %v lack the run id", dep.Labels)
			}

			req.RunID = "run-2"
			resp = call(t, render.OpHelmUpgrade, req)
			if resp.Error != nil {
				t.Fatal(resp.Error.Message)
			}
			if r := resp.Release; r == nil || r.Revision != 2 || !strings.Contains(r.Previous, "name: "+tc.rel.Name+"-cfg") {
				t.Errorf("upgrade: %+v", resp.Release)
			}

			resp = call(t, render.OpHelmUninstall, req)
			if resp.Error != nil || !strings.Contains(resp.Manifests, "kind: Deployment") {
				t.Errorf("uninstall: %+v\n%s", resp.Error, resp.Manifests)
			}
			if resp := call(t, render.OpHelmUninstall, req); resp.Error != nil || resp.Manifests != "" {
				t.Errorf("uninstalling again: %+v", resp.Error)
			}
		})
	}

	// An installed release that is to be kept is left at its revision.
	kept := render.HelmRelease{Name: "kept", Namespace: ns, Chart: local, CreateNamespace: true, KeepInstalled: true}
	req := &render.HelmRequest{Kubeconfig: kube.Kubeconfig, Release: kept, Builds: builds}
	for i := range 2 {
		resp := call(t, render.OpHelmUpgrade, req)
		if resp.Error != nil || resp.Release == nil || resp.Release.Revision != 1 || resp.Release.Kept != (i == 1) {
			t.Errorf("deploy %d of a kept release: %+v %+v", i+1, resp.Error, resp.Release)
		}
	}

	missing := render.HelmRelease{Name: "nothing", Namespace: ns, Chart: "oci://" + docker.Registry + "/charts/missing", Version: "0.1.0"}
	if resp := call(t, render.OpHelmUpgrade, &render.HelmRequest{Kubeconfig: kube.Kubeconfig, Release: missing}); resp.Error == nil ||
		resp.Error.Code != "DEPLOY_CHART_INVALID" || !strings.Contains(resp.Error.Message, "fetching chart oci://") {
		t.Errorf("a chart that is not in the registry: %+v", resp.Error)
	}
}
