package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// devSession is a hoist dev process on a copy of examples/getting-started.
type devSession struct {
	t       testing.TB
	dir     string
	logFile string
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	addr    string
	// forward is the local address of the example's portForward, on a
	// free port of its own rather than the example's 9000.
	forward string
}

// lockedBuffer is a process's output that a test may read while the
// process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startDev(t testing.TB, docker *testutil.DockerEnv, ns string, args ...string) *devSession {
	t.Helper()
	return startDevOn(t, "getting-started", docker, ns, args...)
}

// startDevOn starts hoist dev on a copy of the bundled example.
func startDevOn(t testing.TB, example string, docker *testutil.DockerEnv, ns string, args ...string) *devSession {
	t.Helper()
	return startOn(t, example, docker, ns, append([]string{"dev", "--debounce", "300ms"}, args...)...)
}

// startOn starts hoist on a copy of the bundled example (or of the folder
// example, when it is a path), with the command and flags of args, its
// events in a file and its Event API on a free port.
func startOn(t testing.TB, example string, docker *testutil.DockerEnv, ns string, args ...string) *devSession {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(testutil.Root(t), "examples", example)
	if filepath.IsAbs(example) {
		src = example // a copy the test changed
	}
	if out, err := exec.Command("cp", "-r", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "skaffold.yaml")
	data, _ := os.ReadFile(cfg)
	// The copy is not in a git repository: tag by inputs instead.
	data = bytes.Replace(data, []byte("build:\n"), []byte("build:\n  tagPolicy:\n    inputDigest: {}\n"), 1)
	forward := freePort(t)
	data = bytes.ReplaceAll(data, []byte("localPort: 9000"), fmt.Appendf(nil, "localPort: %d", forward))
	writeFile(t, cfg, data)
	d := &devSession{t: t, dir: dir, logFile: filepath.Join(t.TempDir(), "events.jsonl"), stderr: &lockedBuffer{},
		forward: "127.0.0.1:" + strconv.Itoa(forward)}
	port := freePort(t)
	d.addr = "127.0.0.1:" + strconv.Itoa(port)
	d.cmd = exec.Command(hoistBinary(t), append([]string{args[0], "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
		"--event-log-file", d.logFile, "--cache-file", filepath.Join(t.TempDir(), "cache.json"),
		"--rpc-port", strconv.Itoa(port)}, args[1:]...)...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill() // left running by a failed test
			_ = d.cmd.Wait()
		}
	})
	return d
}

func (d *devSession) events() []*pb.Envelope { return testutil.EventLog(d.t, d.logFile) }

// iteration waits for dev loop iteration n to end and returns its status
// and the events from its start.
func (d *devSession) iteration(n uint32, timeout time.Duration) (pb.Status, []*pb.Envelope) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		evs := d.events()
		start := -1
		for i, e := range evs {
			dl := e.Event.GetDevLoopEvent()
			if dl.GetIteration() != n {
				continue
			}
			if dl.Status == pb.Status_IN_PROGRESS {
				start = i
			} else if start >= 0 {
				return dl.Status, evs[start : i+1]
			}
		}
		if d.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("iteration %d did not end within %v\n%s", n, timeout, d.stderr)
	return 0, nil
}

func (d *devSession) write(rel, content string) {
	if err := os.WriteFile(filepath.Join(d.dir, rel), []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func builtArtifact(evs []*pb.Envelope) *pb.Artifact {
	for _, e := range evs {
		if a := e.Event.GetBuildEvent().GetArtifact(); a != nil {
			return a
		}
	}
	return nil
}

func (d *devSession) interrupt() int {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		d.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = d.cmd.Wait() // the exit code tells
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill() // the test fails anyway
		d.t.Fatalf("hoist dev did not stop\n%s", d.stderr)
	}
	return d.cmd.ProcessState.ExitCode()
}

func TestDevLoopEndToEnd(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	start := time.Now()
	// Without sync, so that the edit of the page rebuilds.
	d := startDev(t, docker, ns, "--auto-sync=false")
	defer func() { t.Logf("the session took %v", time.Since(start)) }()
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	first := builtArtifact(d.events())

	d.write("app/www/index.html", "<h1>changed by the test</h1>\n")
	st, evs := d.iteration(2, 90*time.Second)
	if st != pb.Status_SUCCEEDED {
		t.Fatalf("iteration 2 %s\n%s", st, d.stderr)
	}
	if got := evs[0].Event.GetDevLoopEvent().GetChangedFiles(); len(got) != 1 || got[0] != "app/www/index.html" {
		t.Errorf("changed files = %v", got)
	}
	art := builtArtifact(evs)
	if art == nil || art.Digest == first.GetDigest() {
		t.Fatalf("iteration 2 built %v, want a new digest (first was %v)", art, first)
	}
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "getting-started", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != art.Tag+"@"+art.Digest {
		t.Errorf("the Deployment runs %s, want %s@%s", img, art.Tag, art.Digest)
	}

	dockerfile, _ := os.ReadFile(filepath.Join(d.dir, "Dockerfile"))
	d.write("Dockerfile", string(dockerfile)+"RUN echo broken && exit 9\n")
	if st, evs := d.iteration(3, 90*time.Second); st != pb.Status_FAILED {
		t.Fatalf("iteration 3 with a broken Dockerfile ended %s: %v", st, evs)
	}
	if d.cmd.ProcessState != nil {
		t.Fatal("hoist dev ended after a failed build")
	}
	d.write("Dockerfile", string(dockerfile))
	if st, _ := d.iteration(4, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("iteration 4 after the fix ended %s", st)
	}

	// A broken config is reported and the loop keeps the previous one.
	config, _ := os.ReadFile(filepath.Join(d.dir, "skaffold.yaml"))
	d.write("skaffold.yaml", string(config)+"biuld: {}\n")
	st, evs = d.iteration(5, 30*time.Second)
	if st != pb.Status_FAILED || evs[len(evs)-1].Event.GetDevLoopEvent().GetError().GetCode() != "CONFIG_INVALID" {
		t.Fatalf("iteration 5 with a broken config: %s %v", st, evs)
	}
	d.write("skaffold.yaml", string(config))
	if st, _ := d.iteration(6, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("iteration 6 after fixing the config ended %s", st)
	}

	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, d.stderr)
	}
	evs = d.events()
	checkRun(t, evs, pb.Status_SUCCEEDED)
	var deleted []string
	for _, e := range evs[len(evs)-6:] {
		for _, r := range e.Event.GetDeployEvent().GetResources() {
			if r.Action == "deleted" {
				deleted = append(deleted, r.Kind)
			}
		}
	}
	if len(deleted) != 2 {
		t.Errorf("cleanup deleted %v, want the Service and the Deployment", deleted)
	}
	if _, err := client.AppsV1().Deployments(ns).Get(t.Context(), "getting-started", metav1.GetOptions{}); err == nil {
		t.Error("the Deployment is still there after cleanup")
	}
}

func TestDevAutoBuildOffWaitsForExecute(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	d := startDev(t, docker, ns, "--auto-build=false", "--auto-sync=false")
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	d.write("app/www/index.html", "<h1>waiting for Execute</h1>\n")
	time.Sleep(2 * time.Second)
	for _, e := range d.events() {
		if e.Event.GetDevLoopEvent().GetIteration() == 2 {
			t.Fatal("an edit started an iteration with auto-build off")
		}
	}
	hc, _ := rpc.NewHTTPClient(rpc.ClientOptions{Address: d.addr})
	ctrl := hoistv1alpha2connect.NewControlServiceClient(hc, rpc.BaseURL(d.addr), connect.WithGRPC())
	resp, err := ctrl.Execute(t.Context(), connect.NewRequest(&pb.ExecuteRequest{Build: true}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.Iteration != 2 {
		t.Errorf("Execute answered iteration %d, want 2", resp.Msg.Iteration)
	}
	st, evs := d.iteration(2, 90*time.Second)
	if st != pb.Status_SUCCEEDED || builtArtifact(evs) == nil {
		t.Fatalf("iteration 2 after Execute: %s, %v", st, evs)
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// BenchmarkDevLoop measures, over b.N edits of a source file during one
// hoist dev session, the time from the write to the iteration's SUCCEEDED
// event and to the new pods being ready (the Deployment's statusCheckEvent
// SUCCEEDED), and reports the medians. Sync is off: every edit rebuilds
// (BenchmarkDevSync measures sync).
func BenchmarkDevLoop(b *testing.B) {
	docker := testutil.Docker(b)
	_, ns := namespace(b, testutil.Kubernetes(b))
	d := startDev(b, docker, ns, "--auto-sync=false")
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		b.Fatalf("first iteration %s", st)
	}
	var toSucceeded, toReady []time.Duration
	b.ResetTimer()
	for i := range b.N {
		wrote := time.Now()
		d.write("app/www/index.html", fmt.Sprintf("<h1>edit %d at %d</h1>\n", i, wrote.UnixNano()))
		st, evs := d.iteration(uint32(i+2), 90*time.Second)
		if st != pb.Status_SUCCEEDED {
			b.Fatalf("iteration %d: %s", i+2, st)
		}
		toSucceeded = append(toSucceeded, evs[len(evs)-1].Event.Timestamp.AsTime().Sub(wrote))
		for _, e := range evs {
			if sc := e.Event.GetStatusCheckEvent(); sc.GetResource() != "" && sc.GetStatus() == pb.Status_SUCCEEDED {
				toReady = append(toReady, e.Event.Timestamp.AsTime().Sub(wrote))
			}
		}
	}
	b.StopTimer()
	d.interrupt()
	b.ReportMetric(float64(median(toSucceeded).Milliseconds()), "ms-to-SUCCEEDED")
	b.ReportMetric(float64(median(toReady).Milliseconds()), "ms-to-pod-ready")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// An edit to a kustomize overlay redeploys, with no build.
func TestDevRedeploysAfterAnOverlayEdit(t *testing.T) {
	testutil.Render(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	d := startDevOn(t, "kustomize", docker, ns)
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	d.write("k8s/overlays/dev/kustomization.yaml", "resources:\n- ../../base\nnameSuffix: -dev\ncommonAnnotations: {edited: \"yes\"}\n")
	st, evs := d.iteration(2, 90*time.Second)
	if st != pb.Status_SUCCEEDED {
		t.Fatalf("second iteration %s\n%s", st, d.stderr)
	}
	for _, e := range evs {
		if e.Event.GetBuildEvent() != nil {
			t.Errorf("an overlay edit built: %v", e.Event)
		}
	}
	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "web-dev", metav1.GetOptions{})
	if err != nil || dep.Annotations["edited"] != "yes" {
		t.Errorf("the Deployment after the edit: %v %v", err, dep.GetAnnotations())
	}
	if code := d.interrupt(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
