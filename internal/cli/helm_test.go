package cli_test

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// helmDeployed lists a run's deployEvents' objects as "deployer action
// Kind/name", and returns the built artifact.
func helmDeployed(r result) ([]string, *pb.Artifact) {
	var objs []string
	var art *pb.Artifact
	for _, e := range r.events {
		if a := e.Event.GetBuildEvent().GetArtifact(); a != nil {
			art = a
		}
		d := e.Event.GetDeployEvent()
		for _, res := range d.GetResources() {
			objs = append(objs, d.Deployer+" "+res.Action+" "+res.Kind+"/"+res.Name)
		}
	}
	return objs, art
}

// checkHelmApp checks that the example's Deployment runs the built image
// with the values of the config.
func checkHelmApp(t *testing.T, client kubernetes.Interface, ns string, art *pb.Artifact) {
	t.Helper()
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "helm-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if art == nil || c.Image != art.Tag+"@"+art.Digest {
		t.Errorf("the Deployment runs %s, built %v", c.Image, art)
	}
	if len(c.Env) != 1 || c.Env[0].Value != "hello" {
		t.Errorf("env %v: setValues did not reach the chart", c.Env)
	}
	if dep.Labels["hoist.dev/run-id"] == "" || dep.Status.AvailableReplicas != 1 {
		t.Errorf("labels %v, %d available", dep.Labels, dep.Status.AvailableReplicas)
	}
}

func releaseSecrets(t *testing.T, client kubernetes.Interface, ns string) []string {
	t.Helper()
	list, err := client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

func TestRunHelmExample(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	cfg := filepath.Join(testutil.Root(t), "examples", "helm", "skaffold.yaml")
	args := []string{"-f", cfg, "-n", ns}
	runArgs := append([]string{"run", "--default-repo", docker.Registry}, args...)
	r := run(t, t.Context(), append(runArgs, "--cache-file", filepath.Join(t.TempDir(), "cache.json"))...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	objs, art := helmDeployed(r)
	if want := []string{"helm created Service/helm-app", "helm created Deployment/helm-app"}; !slices.Equal(objs, want) {
		t.Errorf("deployed %v, want %v", objs, want)
	}
	checkHelmApp(t, client, ns, art)
	if got := releaseSecrets(t, client, ns); !slices.Equal(got, []string{"sh.helm.release.v1.helm-app.v1"}) {
		t.Errorf("release secrets %v", got)
	}
	if page := httpGet(t, "http://"+portForward(t, ns, "service/helm-app", 8080)+"/"); !strings.Contains(page, "hello from a Helm chart") {
		t.Errorf("the app says %q", page)
	}

	// Again: an upgrade, to revision 2.
	r = run(t, t.Context(), append(runArgs, "--cache-file", filepath.Join(t.TempDir(), "cache.json"))...)
	if r.code != 0 {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	if objs, _ := helmDeployed(r); !slices.Equal(objs, []string{"helm configured Service/helm-app", "helm configured Deployment/helm-app"}) {
		t.Errorf("second run deployed %v", objs)
	}
	if got := releaseSecrets(t, client, ns); len(got) != 2 {
		t.Errorf("release secrets after the upgrade: %v", got)
	}

	r = run(t, t.Context(), append([]string{"delete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("delete: exit %d\n%s", r.code, r.stderr)
	}
	if objs, _ := helmDeployed(r); !slices.Equal(objs, []string{"helm deleted Service/helm-app", "helm deleted Deployment/helm-app"}) {
		t.Errorf("delete reported %v", objs)
	}
	if got := releaseSecrets(t, client, ns); len(got) != 0 {
		t.Errorf("release secrets after delete: %v", got)
	}
}

// The same chart, packaged and pushed to the registry as OCI, deployed
// from there; and rendered with helm template and applied without a
// release.
func TestRunHelmExampleFromOCIAndTemplate(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	root := filepath.Join(testutil.Root(t), "examples", "helm")
	pkg := action.NewPackage()
	pkg.Destination = t.TempDir()
	tgz, err := pkg.Run(filepath.Join(root, "charts", "web"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	pushCfg := action.NewConfiguration()
	pushCfg.RegistryClient = rc
	push := action.NewPushWithOpts(action.WithPushConfig(pushCfg), action.WithPlainHTTP(true))
	push.Settings = cli.New()
	repo := "oci://" + docker.Registry + "/hoist-examples"
	if _, err := push.Run(tgz, repo); err != nil {
		t.Fatalf("pushing the chart: %v", err)
	}
	t.Setenv("HELM_CHART_REPO", repo)

	args := []string{"run", "-f", filepath.Join(root, "skaffold.yaml"), "--default-repo", docker.Registry, "-n", ns,
		"--cache-file", filepath.Join(t.TempDir(), "cache.json")}
	r := run(t, t.Context(), append(args, "-p", "oci")...)
	if r.code != 0 {
		t.Fatalf("-p oci: exit %d\n%s", r.code, r.stderr)
	}
	_, art := helmDeployed(r)
	checkHelmApp(t, client, ns, art)
	if got := releaseSecrets(t, client, ns); !slices.Equal(got, []string{"sh.helm.release.v1.helm-app.v1"}) {
		t.Errorf("release secrets %v", got)
	}
	r = run(t, t.Context(), "delete", "-f", filepath.Join(root, "skaffold.yaml"), "-n", ns, "-p", "oci")
	if r.code != 0 {
		t.Fatalf("delete: exit %d\n%s", r.code, r.stderr)
	}

	r = run(t, t.Context(), append(args, "-p", "template")...)
	if r.code != 0 {
		t.Fatalf("-p template: exit %d\n%s", r.code, r.stderr)
	}
	objs, art := helmDeployed(r)
	if want := []string{"kubectl created Service/helm-app", "kubectl created Deployment/helm-app"}; !slices.Equal(objs, want) {
		t.Errorf("-p template deployed %v, want %v", objs, want)
	}
	checkHelmApp(t, client, ns, art)
	if got := releaseSecrets(t, client, ns); len(got) != 0 {
		t.Errorf("helm template made a release: %v", got)
	}
}

func TestDevRedeploysAfterAValuesEdit(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	d := startDevOn(t, "helm", docker, ns)
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	d.write("charts/web/values.yaml", "replicaCount: 2\nimage: {repository: helm-app, tag: latest}\ngreeting: hi\nservice: {port: 8080}\n")
	st, evs := d.iteration(2, 90*time.Second)
	if st != pb.Status_SUCCEEDED {
		t.Fatalf("second iteration %s\n%s", st, d.stderr)
	}
	for _, e := range evs {
		if e.Event.GetBuildEvent() != nil {
			t.Errorf("a values edit built: %v", e.Event)
		}
	}
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "helm-app", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 2 {
		t.Fatalf("after the values edit: %v, replicas %v", err, dep.Spec.Replicas)
	}
	image := dep.Spec.Template.Spec.Containers[0].Image

	d.write("app/www/index.html", "<h1>edited</h1>\n")
	if st, _ := d.iteration(3, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("third iteration %s\n%s", st, d.stderr)
	}
	dep, err = client.AppsV1().Deployments(ns).Get(t.Context(), "helm-app", metav1.GetOptions{})
	if err != nil || dep.Spec.Template.Spec.Containers[0].Image == image {
		t.Errorf("after the source edit the Deployment still runs %s (%v)", image, err)
	}
	if got := releaseSecrets(t, client, ns); len(got) != 3 {
		t.Errorf("release revisions %v, want 3", got)
	}
	if code := d.interrupt(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
