package cli_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestLabelFlagRefusesBadLabels gives each command that takes --label a
// label Kubernetes would refuse: a usage error that names the flag and
// the label, before the run starts.
func TestLabelFlagRefusesBadLabels(t *testing.T) {
	cfg := filepath.Join(testutil.Root(t), "examples", "getting-started", "skaffold.yaml")
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"render", "--offline", "-l", "ide"}, `label "ide" has no =`},
		{[]string{"run", "--label", "ide=two words"}, `"two words" is not a valid label value`},
		{[]string{"dev", "-l", "ok=1,bad key=1"}, `"bad key" is not a valid label key`},
		{[]string{"deploy", "--label", "hoist.dev/run-id=mine"}, "hoist's own"},
		{[]string{"apply", "manifests.yaml", "--label", "=x"}, "is not a valid label key"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runPlain(t.Context(), append(tc.args, "-f", cfg)...)
			if r.code != fault.ExitConfig || !strings.Contains(r.stderr, "error [USAGE_INVALID]") ||
				!strings.Contains(r.stderr, "--label") || !strings.Contains(r.stderr, tc.say) || !strings.Contains(r.stderr, "hint:") {
				t.Errorf("exit %d, want a usage error naming --label and saying %q\n%s", r.code, tc.say, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("the run started:\n%s", r.stdout)
			}
		})
	}
	for _, cmd := range []string{"build", "delete", "test"} {
		if r := runPlain(t.Context(), cmd, "-f", cfg, "--label", "a=b"); !strings.Contains(r.stderr, "unknown flag: --label") {
			t.Errorf("hoist %s takes --label, which Skaffold's does not: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
}

// TestRenderLabels renders offline, without a cluster: every object and
// pod template carries each --label, given repeated and as a list, beside
// the run id label, in raw manifests and in helm template's.
func TestRenderLabels(t *testing.T) {
	testutil.Render(t)
	want := map[string]string{"ide": "idea", "example.com/team": "payments", "tier": "web"}
	for example, profile := range map[string]string{"getting-started": "", "helm": "template"} {
		t.Run(example, func(t *testing.T) {
			cfg := filepath.Join(testutil.Root(t), "examples", example, "skaffold.yaml")
			args := []string{"render", "-f", cfg, "--offline", "--digest-source", "none", "-l", "ide=idea", "--label", "example.com/team=payments,tier=web"}
			if profile != "" {
				args = append(args, "-p", profile)
			}
			r := runPlain(t.Context(), args...)
			if r.code != 0 {
				t.Fatalf("render: exit %d\n%s", r.code, r.stderr)
			}
			dec := yaml.NewDecoder(strings.NewReader(r.stdout))
			n := 0
			for {
				var obj struct {
					Kind     string
					Metadata struct{ Labels map[string]string }
					Spec     struct {
						Template struct {
							Metadata struct{ Labels map[string]string }
						}
					}
				}
				if err := dec.Decode(&obj); err != nil {
					break
				}
				n++
				checkLabels(t, obj.Kind, want, obj.Metadata.Labels)
				if obj.Kind == "Deployment" {
					checkLabels(t, "its pod template", want, obj.Spec.Template.Metadata.Labels)
				}
			}
			if n < 2 {
				t.Errorf("rendered %d objects:\n%s", n, r.stdout)
			}
		})
	}
}

// checkLabels checks that labels hold want, and the run id label.
func checkLabels(t *testing.T, what string, want, labels map[string]string) {
	t.Helper()
	got := maps.Clone(labels)
	if got[deploy.RunIDLabel] == "" {
		t.Errorf("%s has no run id label: %v", what, labels)
	}
	maps.DeleteFunc(got, func(k, _ string) bool { _, ok := want[k]; return !ok })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s's labels (-want +got):\n%s", what, diff)
	}
}

// TestLabelsOnDeployedObjects deploys with --label to the test
// environment's cluster, with kubectl (raw manifests) and with Helm (its
// post-renderer): the objects in the cluster carry the labels, and the
// pods of the Deployment do too.
func TestLabelsOnDeployedObjects(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	kube := testutil.Kubernetes(t)
	want := map[string]string{"ide": "idea", "team": "payments"}
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
	kubectlProject := manifestProject(t, 120, map[string]string{"deployment.yaml": deploymentYAML(1, "", ""), "settings.yaml": configMap})
	helmProject := filepath.Join(t.TempDir(), "skaffold.yaml")
	writeFile(t, helmProject, []byte("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: app\n"+
		"deploy:\n  statusCheckDeadlineSeconds: 120\n  helm:\n    releases:\n    - name: labelled\n      chartPath: chart\n"))
	chart := filepath.Join(filepath.Dir(helmProject), "chart")
	if err := os.MkdirAll(filepath.Join(chart, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(chart, "Chart.yaml"), []byte("apiVersion: v2\nname: labelled\nversion: 0.1.0\n"))
	writeFile(t, filepath.Join(chart, "templates", "deployment.yaml"), []byte(deploymentYAML(1, "", "")))
	writeFile(t, filepath.Join(chart, "templates", "settings.yaml"), []byte(configMap))
	for name, cfg := range map[string]string{"kubectl": kubectlProject, "helm": helmProject} {
		t.Run(name, func(t *testing.T) {
			client, ns := namespace(t, kube)
			r := run(t, t.Context(), "deploy", "-f", cfg, "-n", ns, "--images", "app="+docker.BaseImage, "-l", "ide=idea", "--label", "team=payments")
			if r.code != 0 {
				t.Fatalf("deploy: exit %d\n%s", r.code, r.stderr)
			}
			checkRun(t, r.events, pb.Status_SUCCEEDED)
			checkDeployedLabels(t, client, ns, want, r.events[0].EventId)
		})
	}
}

func checkDeployedLabels(t *testing.T, client kubernetes.Interface, ns string, want map[string]string, runID string) {
	t.Helper()
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, "the Deployment", want, dep.Labels)
	checkLabels(t, "the Deployment's pod template", want, dep.Spec.Template.Labels)
	cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, "the ConfigMap", want, cm.Labels)
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "ide=idea,team=payments," + deploy.RunIDLabel + "=" + runID})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Errorf("no pod of the run carries the labels")
	}
}
