package cli_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// The status check against pods that really run, and really fail, on the
// test environment's real node. Each case waits for the kubelet (a crash
// loop takes about 20 s to be called one), so they run in parallel.
func TestStatusCheckOnTheRealNode(t *testing.T) {
	docker := testutil.Docker(t)
	kube := testutil.Kubernetes(t)
	missing := docker.Registry + "/hoist-test/no-such-image:missing"
	crashing := `        command: [sh, -c, 'echo "reading /config/app.yaml"; echo "open /config/app.yaml: no such file" >&2; exit 3']
        # Never ready, as an app that fails before it serves: the pod cannot
        # pass for Ready in the moment between its start and its exit.
        readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
`
	tests := []struct {
		name     string
		image    string
		spec     string
		deadline int
		args     []string
		code     fault.Code
		message  []string
		// seen must be in the message of some statusCheckEvent.
		seen string
		// ends says how long the check may take.
		atLeast, atMost time.Duration
	}{
		{name: "ErrImagePull fails at once", image: missing, deadline: 120,
			code: fault.StatusCheckImagePull, message: []string{"ErrImagePull", "no-such-image"},
			atMost: 60 * time.Second},
		// The kubelet turns ErrImagePull into ImagePullBackOff after a few
		// seconds, more on a loaded machine.
		{name: "ImagePullBackOff until the deadline", image: missing, deadline: 30,
			args: []string{"--tolerate-failures-until-deadline"},
			code: fault.StatusCheckImagePull, message: []string{"was not ready within 30s", "no-such-image"},
			seen: "ImagePullBackOff", atLeast: 30 * time.Second, atMost: 90 * time.Second},
		{name: "CrashLoopBackOff fails at once", image: docker.BaseImage, spec: crashing, deadline: 120,
			code: fault.StatusCheckCrashLoop, message: []string{"CrashLoopBackOff", "it last exited with code 3 (Error)"},
			atMost: 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, ns := namespace(t, kube)
			manifest := deploymentYAML(1, "", tt.spec)
			cfg := manifestProject(t, tt.deadline, map[string]string{"deployment.yaml": manifest})
			start := time.Now()
			r := run(t, t.Context(), append([]string{"deploy", "-f", cfg, "-n", ns, "--images", "app=" + tt.image}, tt.args...)...)
			took := time.Since(start)
			failed := checkFailure(t, r, fault.ExitStatus, tt.code, tt.message)
			if failed.GetStatusCheckEvent() == nil {
				t.Errorf("the failing event is %v, want a FAILED statusCheckEvent", failed)
			}
			if took < tt.atLeast || took > tt.atMost {
				t.Errorf("the check took %v, want %v to %v", took, tt.atLeast, tt.atMost)
			}
			if tt.seen != "" && !statusMessagesContain(r, tt.seen) {
				t.Errorf("no statusCheckEvent mentions %s", tt.seen)
			}
			if term := r.events[len(r.events)-1].Event.GetTerminationEvent(); term.GetError().GetCode() != string(tt.code) {
				t.Errorf("terminationEvent = %v", term)
			}
			pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=app"})
			if err != nil || len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != testutil.RealNode {
				t.Errorf("the pod is not on the real node: %v %v", err, pods)
			}
			if tt.code == fault.StatusCheckCrashLoop {
				// The crash was real: the container's own output is there.
				logs := podLogs(t, client, ns, pods.Items[0].Name)
				if !strings.Contains(logs, "open /config/app.yaml: no such file") {
					t.Errorf("the crashed container's log is %q", logs)
				}
			}
		})
	}
	// The kwok node takes what tolerates its taint: a hundred replicas,
	// Ready at once, that the real node would have to run.
	t.Run("many replicas on the kwok node", func(t *testing.T) {
		t.Parallel()
		client, ns := namespace(t, kube)
		kwok := "      nodeSelector: {type: kwok}\n      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]\n"
		manifest := deploymentYAML(100, kwok, "")
		cfg := manifestProject(t, 120, map[string]string{"deployment.yaml": manifest})
		r := run(t, t.Context(), "deploy", "-f", cfg, "-n", ns, "--images", "app="+docker.BaseImage)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		checkRun(t, r.events, pb.Status_SUCCEEDED)
		pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "kwok-node-0" {
				t.Fatalf("pod %s is on %q", p.Name, p.Spec.NodeName)
			}
		}
		if len(pods.Items) != 100 {
			t.Errorf("%d pods", len(pods.Items))
		}
	})
}

func statusMessagesContain(r result, s string) bool {
	for _, e := range r.events {
		if sc := e.Event.GetStatusCheckEvent(); sc != nil && (strings.Contains(sc.Message, s) || strings.Contains(sc.GetError().GetMessage(), s)) {
			return true
		}
	}
	return false
}

// podLogs is the log of the pod's first container, or of its last run if it
// has restarted and the current one has written nothing yet.
func podLogs(t *testing.T, client kubernetes.Interface, ns, pod string) string {
	t.Helper()
	var last string
	for _, previous := range []bool{false, true} {
		b, err := client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Previous: previous}).DoRaw(t.Context())
		if err == nil && len(b) > 0 {
			return string(b)
		}
		last = fmt.Sprint(err)
	}
	t.Logf("logs of %s/%s: %s", ns, pod, last)
	return ""
}

var forwarding = regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) ->`)

// portForward runs kubectl port-forward to target's port on a free local
// port, for the rest of the test, and returns the local address.
func portForward(t testing.TB, ns, target string, port int) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "kubectl", "port-forward", "-n", ns, "--address", "127.0.0.1", target, ":"+strconv.Itoa(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl port-forward: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := forwarding.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(30 * time.Second):
		t.Fatalf("kubectl port-forward %s did not start: %s", target, stderr.String())
	}
	return ""
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}

// Deploy hooks run around the deploy: on the host, and in the deployed
// containers through exec, once they are ready.
func TestDeployHooksOnTheRealNode(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	dir := t.TempDir()
	hostLog := filepath.Join(dir, "host.log")
	cfg := manifestProject(t, 120, map[string]string{"deployment.yaml": deploymentYAML(1, "", "")})
	writeFile(t, cfg, append([]byte(readFile(cfg)), fmt.Appendf(nil, `    hooks:
      before:
      - host: {command: [sh, -c, 'echo "before $SKAFFOLD_NAMESPACES $SKAFFOLD_RUN_ID" >> %[1]s']}
      after:
      - container: {command: [sh, -c, 'echo "in $HOSTNAME"'], podName: app-*}
      - host: {command: [sh, -c, 'echo after >> %[1]s']}
`, hostLog)...))
	r := run(t, t.Context(), "deploy", "-f", cfg, "-n", ns, "--images", "app="+docker.BaseImage)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stderr, readFile(cfg))
	}
	want := fmt.Sprintf("before %s %s\nafter\n", ns, r.events[0].EventId)
	if got := readFile(hostLog); got != want {
		t.Errorf("the host hooks wrote %q, want %q", got, want)
	}
	if !regexp.MustCompile(`\[post-deploy hook\] in app-[a-z0-9]+-[a-z0-9]+`).MatchString(r.stderr) {
		t.Errorf("no container hook output on stderr:\n%s", r.stderr)
	}

	// A failing hook fails the run, after the deploy.
	writeFile(t, cfg, []byte(strings.Replace(readFile(cfg), "echo after", "exit 7", 1)))
	r = run(t, t.Context(), "deploy", "-f", cfg, "-n", ns, "--images", "app="+docker.BaseImage)
	if r.code != fault.ExitDeploy || !strings.Contains(r.stderr, "DEPLOY_HOOK_FAILED") {
		t.Errorf("a failing hook: exit %d\n%s", r.code, r.stderr)
	}
}
