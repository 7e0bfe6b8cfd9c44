package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// namespace creates a namespace for one test and deletes it afterwards.
func namespace(t testing.TB, kube *testutil.KubernetesEnv) (kubernetes.Interface, string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	name := fmt.Sprintf("t-%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Not t.Context(): it is canceled before cleanups run, and a
		// namespace left behind keeps its pods on the one fake node.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Logf("deleting namespace %s: %v", name, err)
		}
	})
	// The namespace's default service account comes from the controller
	// manager; pods wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := client.CoreV1().ServiceAccounts(name).Get(t.Context(), "default", metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no default service account")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return client, name
}

// shape summarizes a run's events: payload, status and what matters.
func shape(events []*pb.Envelope) []string {
	var out []string
	for _, e := range events {
		ev := e.Event
		s := event.TypeOf(ev) + " " + strings.TrimPrefix(event.StatusOf(ev).String(), "STATUS_UNSPECIFIED")
		switch p := ev.GetPayload().(type) {
		case *pb.Event_BuildEvent:
			if p.BuildEvent.Log != "" {
				s = "buildEvent log"
			}
		case *pb.Event_DeployEvent:
			for _, r := range p.DeployEvent.Resources {
				s += fmt.Sprintf(" %s %s", r.Action, r.Kind)
			}
			if len(p.DeployEvent.Manifests) > 0 {
				s += " " + strings.Join(p.DeployEvent.Manifests, ",")
			}
		case *pb.Event_StatusCheckEvent:
			if p.StatusCheckEvent.Resource != "" {
				s += " " + strings.SplitN(p.StatusCheckEvent.Resource, "/", 2)[0]
			}
		}
		if len(out) > 0 && out[len(out)-1] == s && s == "buildEvent log" {
			continue
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

func TestRunExampleEndToEnd(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	cfg := filepath.Join(testutil.Root(t), "examples", "getting-started", "skaffold.yaml")
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	r := run(t, t.Context(), "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
		"--cache-file", filepath.Join(t.TempDir(), "cache.json"), "--event-log-file", logFile)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	want := []string{
		"metaEvent",
		"buildEvent IN_PROGRESS",
		"buildEvent log",
		"buildEvent SUCCEEDED",
		"deployEvent IN_PROGRESS",
		"deployEvent IN_PROGRESS created Deployment",
		"deployEvent IN_PROGRESS created Service",
		"deployEvent SUCCEEDED k8s/deployment.yaml,k8s/service.yaml",
		"statusCheckEvent IN_PROGRESS",
	}
	got := shape(r.events)
	if diff := cmp.Diff(want, got[:min(len(want), len(got))]); diff != "" {
		t.Errorf("event stream (-want +got):\n%s\nall: %q", diff, got)
	}
	if tail := got[len(got)-3:]; !cmp.Equal(tail, []string{"statusCheckEvent SUCCEEDED Deployment", "statusCheckEvent SUCCEEDED", "terminationEvent SUCCEEDED"}) {
		t.Errorf("stream ends %q", tail)
	}
	meta := r.events[0].Event.GetMetaEvent()
	if meta.Command != "run" || meta.Deployer != "kubectl" || !cmp.Equal(meta.Artifacts, []string{"getting-started"}) {
		t.Errorf("metaEvent = %v", meta)
	}
	var art *pb.Artifact
	var sawStep bool
	for _, e := range r.events {
		be := e.Event.GetBuildEvent()
		if be.GetArtifact() != nil {
			art = be.Artifact
		}
		if be.GetStep().GetIndex() == 1 && strings.HasPrefix(be.GetLog(), "Step 1/6 : ") {
			sawStep = true
		}
	}
	if !sawStep {
		t.Error("no Step 1/6 event with step set")
	}
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "getting-started", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dep.Spec.Template.Spec.Containers[0].Image, art.Tag+"@"+art.Digest; got != want {
		t.Errorf("the Deployment runs %s, want %s", got, want)
	}
	if dep.Labels["hoist.dev/run-id"] != r.events[0].EventId {
		t.Errorf("run id label = %q, want %q", dep.Labels["hoist.dev/run-id"], r.events[0].EventId)
	}
	if dep.Status.AvailableReplicas != 2 {
		t.Errorf("%d replicas available", dep.Status.AvailableReplicas)
	}
	// The pods really run: on the real node, with the server's output in
	// their logs, and the page behind a port-forward.
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=getting-started"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods: %v (%d)", err, len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != testutil.RealNode {
			t.Errorf("pod %s runs on %q, want the real node %s", p.Name, p.Spec.NodeName, testutil.RealNode)
		}
	}
	if logs := podLogs(t, client, ns, pods.Items[0].Name); !strings.Contains(logs, "serving /app/www on port 8080") {
		t.Errorf("the server's log is %q", logs)
	}
	if page := httpGet(t, "http://"+portForward(t, ns, "deployment/getting-started", 8080)+"/"); !strings.Contains(page, "Hello from getting-started") {
		t.Errorf("the page through port-forward is %q", page)
	}
	if diff := cmp.Diff(canonical(t, r.stdout), canonical(t, readFile(logFile))); diff != "" {
		t.Errorf("event log file differs from stdout:\n%s", diff)
	}

	// A second run changes nothing: the build is skipped, the objects unchanged.
	again := run(t, t.Context(), "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
		"--cache-file", filepath.Join(filepath.Dir(logFile), "..", "cache.json"))
	if again.code != 0 {
		t.Fatalf("second run: exit %d\n%s", again.code, again.stderr)
	}

	del := run(t, t.Context(), "delete", "-f", cfg, "-n", ns)
	if del.code != 0 {
		t.Fatalf("delete: exit %d\n%s", del.code, del.stderr)
	}
	checkRun(t, del.events, pb.Status_SUCCEEDED)
	if got := shape(del.events); !cmp.Equal(got, []string{"metaEvent", "deployEvent IN_PROGRESS",
		"deployEvent IN_PROGRESS deleted Service", "deployEvent IN_PROGRESS deleted Deployment",
		"deployEvent SUCCEEDED k8s/deployment.yaml,k8s/service.yaml", "terminationEvent SUCCEEDED"}) {
		t.Errorf("delete stream = %q", got)
	}
	if _, err := client.AppsV1().Deployments(ns).Get(t.Context(), "getting-started", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment is still there: %v", err)
	}
}

// manifestProject writes a config with the given manifests and returns its path.
func manifestProject(t *testing.T, deadline int, manifests map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range manifests {
		writeFile(t, filepath.Join(dir, "k8s", name), []byte(body))
	}
	cfg := fmt.Sprintf("apiVersion: skaffold/v2beta28\nkind: Config\nbuild:\n  artifacts:\n  - image: app\ndeploy:\n  statusCheckDeadlineSeconds: %d\n  kubectl:\n    manifests: [k8s/*.yaml]\n", deadline)
	path := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, path, []byte(cfg))
	return path
}

// deploymentYAML is a Deployment "app" with one container "app" of image
// "app", replicas of it; podSpec lines go into the pod's spec, container
// lines into the container (a command, a probe). Without a command it runs
// until it is deleted.
func deploymentYAML(replicas int, podSpec, container string) string {
	if container == "" {
		container = "        command: [sleep, \"3600\"]\n"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: %d
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
%s      containers:
      - name: app
        image: app
%s`, replicas, podSpec, container)
}

func TestDeployBuiltArtifactsFile(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	cfg := manifestProject(t, 60, map[string]string{"deployment.yaml": deploymentYAML(1, "", "")})
	artifacts := filepath.Join(t.TempDir(), "artifacts.json")
	writeFile(t, artifacts, fmt.Appendf(nil, `{"builds":[{"imageName":"app","tag":"%s"}]}`, docker.BaseImage))
	r := run(t, t.Context(), "deploy", "-f", cfg, "-n", ns, "--build-artifacts", artifacts)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != docker.BaseImage {
		t.Errorf("image = %s, want %s", got, docker.BaseImage)
	}
}

func TestFailingRolloutEndsWithinDeadline(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	unschedulable := "      nodeSelector: {hoist.dev/no-such-node: \"true\"}\n"
	cfg := manifestProject(t, 4, map[string]string{"deployment.yaml": deploymentYAML(1, unschedulable, "")})
	start := time.Now()
	r := run(t, t.Context(), "deploy", "-f", cfg, "-n", ns, "--images", "app="+docker.BaseImage)
	took := time.Since(start)
	if r.code != fault.ExitStatus {
		t.Fatalf("exit %d, want %d\n%s", r.code, fault.ExitStatus, r.stderr)
	}
	if took > 20*time.Second {
		t.Errorf("a 4s deadline took %v", took)
	}
	checkRun(t, r.events, pb.Status_FAILED)
	var failed *pb.StatusCheckEvent
	for _, e := range r.events {
		if sc := e.Event.GetStatusCheckEvent(); sc.GetResource() != "" && sc.GetStatus() == pb.Status_FAILED {
			failed = sc
		}
	}
	if failed == nil || failed.Error.GetCode() != string(fault.StatusCheckUnschedulable) || !strings.Contains(failed.Error.Message, "Unschedulable") {
		t.Fatalf("failed status check = %v", failed)
	}
	term := r.events[len(r.events)-1].Event.GetTerminationEvent()
	if term.GetError().GetCode() != string(fault.StatusCheckUnschedulable) {
		t.Errorf("termination error = %v", term.GetError())
	}
}

func TestDeployErrors(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	deadKubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, deadKubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\ncontexts:\n- name: dead\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: x}\ncurrent-context: dead\n"))
	tests := []struct {
		name      string
		manifests map[string]string
		args      []string
		code      fault.Code
		message   []string
	}{
		{"cluster unreachable", map[string]string{"d.yaml": deploymentYAML(1, "", "")}, []string{"--kubeconfig", deadKubeconfig},
			fault.DeployClusterUnreachable, []string{`context "dead"`, "https://127.0.0.1:1"}},
		{"unknown kind", map[string]string{"w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"}, nil,
			fault.DeployUnknownKind, []string{"k8s/w.yaml:1", "Widget"}},
		{"namespace missing", map[string]string{"d.yaml": deploymentYAML(1, "", "")}, []string{"-n", "no-such-namespace"},
			fault.DeployNamespaceMissing, []string{"no-such-namespace"}},
		{"manifest matching no file", map[string]string{"notes.txt": "x"}, nil,
			fault.DeployManifestNotFound, []string{"k8s/*.yaml"}},
		{"malformed manifest", map[string]string{"bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   labels: {}\n"}, nil,
			fault.DeployManifestInvalid, []string{"k8s/bad.yaml", "line 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := manifestProject(t, 30, tt.manifests)
			args := append([]string{"deploy", "-f", cfg, "-n", ns, "--images", "app=" + docker.BaseImage}, tt.args...)
			r := run(t, t.Context(), args...)
			if failed := checkFailure(t, r, fault.ExitDeploy, tt.code, tt.message); failed.GetDeployEvent() == nil {
				t.Errorf("the failing event is %v, want a FAILED deployEvent", failed)
			}
		})
	}
}

// The multi-config example: one hoist run builds both modules and deploys
// both, the required backend first; their pods answer on the real node.
func TestRunMultiConfigExample(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	cfg := filepath.Join(testutil.Root(t), "examples", "multi-config", "skaffold.yaml")
	r := run(t, t.Context(), "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
		"--cache-file", filepath.Join(t.TempDir(), "cache.json"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	if got := r.events[0].Event.GetMetaEvent().Artifacts; !cmp.Equal(got, []string{"shop-backend", "shop-frontend"}) {
		t.Errorf("metaEvent artifacts = %v", got)
	}
	var created []string
	for _, e := range r.events {
		for _, res := range e.Event.GetDeployEvent().GetResources() {
			created = append(created, res.Kind+"/"+res.Name)
		}
	}
	if !cmp.Equal(created, []string{"Deployment/shop-backend", "Deployment/shop-frontend"}) {
		t.Errorf("deployed %v, want the backend, then the frontend", created)
	}
	for _, name := range []string{"shop-backend", "shop-frontend"} {
		dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil || dep.Status.AvailableReplicas != 1 {
			t.Errorf("%s: %v, %d available", name, err, dep.Status.AvailableReplicas)
		}
	}
	if page := httpGet(t, "http://"+portForward(t, ns, "deployment/shop-frontend", 8080)+"/name.txt"); !strings.Contains(page, "frontend") {
		t.Errorf("the frontend says %q", page)
	}
}

// The kustomize example: the overlay a profile selects is rendered,
// its image replaced by the built one, and applied.
func TestRunKustomizeExample(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	cfg := filepath.Join(testutil.Root(t), "examples", "kustomize", "skaffold.yaml")
	for _, tt := range []struct {
		profile, name string
		replicas      int32
	}{{"", "web-dev", 1}, {"prod", "web-prod", 2}} {
		args := []string{"run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns, "--cache-file", filepath.Join(t.TempDir(), "cache.json")}
		if tt.profile != "" {
			args = append(args, "-p", tt.profile)
		}
		r := run(t, t.Context(), args...)
		if r.code != 0 {
			t.Fatalf("-p %q: exit %d\n%s", tt.profile, r.code, r.stderr)
		}
		var art *pb.Artifact
		for _, e := range r.events {
			if a := e.Event.GetBuildEvent().GetArtifact(); a != nil {
				art = a
			}
		}
		dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), tt.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("-p %q: %v", tt.profile, err)
		}
		if got := dep.Spec.Template.Spec.Containers[0].Image; got != art.Tag+"@"+art.Digest {
			t.Errorf("-p %q: the Deployment runs %s", tt.profile, got)
		}
		if *dep.Spec.Replicas != tt.replicas || dep.Labels["app"] != "kustomize-app" || dep.Labels["hoist.dev/run-id"] == "" {
			t.Errorf("-p %q: replicas %d, labels %v", tt.profile, *dep.Spec.Replicas, dep.Labels)
		}
	}
}
