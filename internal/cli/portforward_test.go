package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/session"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// portEvents are the session's portEvents so far.
func (d *devSession) portEvents() []*pb.PortEvent {
	var out []*pb.PortEvent
	for _, e := range d.events() {
		if p := e.Event.GetPortEvent(); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// waitPort waits for a portEvent that ok accepts.
func (d *devSession) waitPort(ok func(*pb.PortEvent) bool, timeout time.Duration) *pb.PortEvent {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && d.cmd.ProcessState == nil {
		for _, p := range d.portEvents() {
			if ok(p) {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("no such portEvent within %v; portEvents so far: %v", timeout, d.portEvents())
	return nil
}

func anyPort(*pb.PortEvent) bool { return true }

// heldPort is the port a listener holds.
func heldPort(t *testing.T, l net.Listener) int {
	t.Helper()
	a, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("%v is not a TCP address", l.Addr())
	}
	return a.Port
}

func localAddr(p *pb.PortEvent) string {
	return net.JoinHostPort(p.Address, strconv.Itoa(int(p.LocalPort)))
}

// get fetches url, or says why it could not.
func get(url string) (string, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}

// getUntil fetches url until the page contains want.
func getUntil(t *testing.T, url, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var page string
	var err error
	for time.Now().Before(deadline) {
		if page, err = get(url); err == nil && strings.Contains(page, want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s never had %q within %v: last %q, %v", url, want, timeout, page, err)
}

// hoist dev forwards the example's Service on its localPort and keeps
// doing so, on the same local port, when the pod it goes to is deleted and
// when a rollout replaces every pod.
func TestDevForwardFollowsThePodsOnTheRealNode(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	// The page is edited to roll the pods out, not to sync it.
	d := startDev(t, docker, ns, "--auto-sync=false")
	st, evs := d.iteration(1, 120*time.Second)
	if st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	// The iteration ends once its forward is established, as Skaffold's
	// does: the first portEvent comes before the end.
	first := d.waitPort(anyPort, 30*time.Second)
	if !hasEvent(evs, first) {
		t.Errorf("the first portEvent %v came after the first iteration's end", first)
	}
	t.Logf("the first iteration ended %v after its status check", endAfterCheck(t, evs))
	if localAddr(first) != d.forward {
		t.Errorf("forwarded on %s, want the configured %s", localAddr(first), d.forward)
	}
	want := &pb.PortEvent{LocalPort: first.LocalPort, RemotePort: 8080, Pod: first.Pod, Container: "web", Namespace: ns,
		ResourceType: "service", ResourceName: "getting-started", Address: "127.0.0.1"}
	if first.String() != want.String() || !strings.HasPrefix(first.Pod, "getting-started-") {
		t.Errorf("portEvent %v, want %v", first, want)
	}
	url := "http://" + d.forward + "/"
	if page, err := get(url); err != nil || !strings.Contains(page, "Hello from getting-started") {
		t.Fatalf("GET through the forward: %q, %v", page, err)
	}

	// The pod the forward goes to is deleted: it moves to another one.
	if err := client.CoreV1().Pods(ns).Delete(t.Context(), first.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	moved := d.waitPort(func(p *pb.PortEvent) bool { return p.Pod != first.Pod }, 60*time.Second)
	if moved.LocalPort != first.LocalPort || moved.Address != first.Address {
		t.Errorf("moved to %s, want the same %s", localAddr(moved), localAddr(first))
	}
	getUntil(t, url, "Hello from getting-started", 30*time.Second)

	// A rollout replaces every pod: the forward goes to the new ones.
	d.write("app/www/index.html", "<h1>rolled out, seen through the forward</h1>\n")
	st, evs = d.iteration(2, 120*time.Second)
	if st != pb.Status_SUCCEEDED {
		t.Fatalf("iteration 2 %s\n%s", st, d.stderr)
	}
	getUntil(t, url, "rolled out, seen through the forward", 60*time.Second)
	art := builtArtifact(evs)
	var last *pb.PortEvent
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ps := d.portEvents()
		last = ps[len(ps)-1]
		pod, err := client.CoreV1().Pods(ns).Get(t.Context(), last.Pod, metav1.GetOptions{})
		if err == nil && pod.Spec.Containers[0].Image == art.GetTag()+"@"+art.GetDigest() {
			break
		}
		last = nil
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("no portEvent names a pod of the rollout: %v", d.portEvents())
	}
	if last.LocalPort != first.LocalPort {
		t.Errorf("after the rollout the forward is on %d, want %d", last.LocalPort, first.LocalPort)
	}
	if !hasEvent(evs, last) {
		t.Errorf("the forward's move to the rollout's pod, %v, came after the iteration's end", last)
	}
	t.Logf("the rollout's iteration ended %v after its status check", endAfterCheck(t, evs))

	// The run's state lists the forward where it goes now.
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: d.addr})
	if err != nil {
		t.Fatal(err)
	}
	events := hoistv1alpha2connect.NewEventServiceClient(hc, rpc.BaseURL(d.addr), connect.WithGRPC())
	state, err := events.GetState(t.Context(), connect.NewRequest(&pb.GetStateRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if fp := state.Msg.ForwardedPorts; len(fp) != 1 || fp[0].String() != d.portEvents()[len(d.portEvents())-1].String() {
		t.Errorf("GetState's forwardedPorts = %v, want the last portEvent %v", fp, last)
	}

	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, d.stderr)
	}
	if _, err := net.DialTimeout("tcp", d.forward, time.Second); err == nil {
		t.Error("the local port still accepts connections after hoist dev ended")
	}
}

// endAfterCheck is how long after the end of its status check the
// iteration of evs ended.
func endAfterCheck(t *testing.T, evs []*pb.Envelope) time.Duration {
	t.Helper()
	for _, e := range evs {
		if sc := e.Event.GetStatusCheckEvent(); sc.GetResource() == "" && sc.GetStatus() == pb.Status_SUCCEEDED {
			return evs[len(evs)-1].Event.Timestamp.AsTime().Sub(e.Event.Timestamp.AsTime())
		}
	}
	t.Fatalf("no end of a status check in the iteration: %v", evs)
	return 0
}

// hasEvent tells whether evs holds the portEvent p.
func hasEvent(evs []*pb.Envelope, p *pb.PortEvent) bool {
	return slices.ContainsFunc(evs, func(e *pb.Envelope) bool { return e.Event.GetPortEvent().String() == p.String() })
}

// A dev iteration waits for the forwards of its deploy, but a forward that
// cannot be established holds it up no longer than session.ForwardWait
// and does not fail it: here a portForward entry of a ReplicaSet whose
// pod is never scheduled, beside the example's Service, whose configured
// local port is taken and which is forwarded on the next one, before
// the iteration ends. The measure is from the status check's end, after
// which the deploy waits for its forwards, to the iteration's end.
func TestDevIterationWaitsForItsForwardsAtMostTheBound(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	src := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(testutil.Root(t), "examples", "getting-started")+"/.", src).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	taken := heldPort(t, held)
	cfgFile := filepath.Join(src, "skaffold.yaml")
	cfg := strings.Replace(readFile(cfgFile), "localPort: 9000", "localPort: "+strconv.Itoa(taken), 1)
	cfg = strings.Replace(cfg, "portForward:\n", "portForward:\n- {resourceType: replicaset, resourceName: stuck, port: 8080}\n", 1)
	writeFile(t, cfgFile, []byte(cfg))
	// Not a workload the status check waits for: the deploy succeeds.
	writeFile(t, filepath.Join(src, "k8s", "stuck.yaml"), []byte(`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: stuck
spec:
  replicas: 1
  selector:
    matchLabels: {app: stuck}
  template:
    metadata:
      labels: {app: stuck}
    spec:
      nodeSelector: {hoist.dev/no-such-node: "true"}
      containers:
      - name: web
        image: getting-started
        ports:
        - containerPort: 8080
`))

	d := startOn(t, src, docker, ns, "dev", "--debounce", "300ms", "--auto-sync=false")
	for n := uint32(1); n <= 2; n++ {
		if n == 2 {
			// A rebuild rolls the Service's pods out: the forward moves.
			d.write("app/www/index.html", "<h1>rolled out</h1>\n")
		}
		st, evs := d.iteration(n, 120*time.Second)
		if st != pb.Status_SUCCEEDED {
			t.Fatalf("iteration %d %s\n%s", n, st, d.stderr)
		}
		var service *pb.PortEvent
		for _, e := range evs {
			if p := e.Event.GetPortEvent(); p != nil {
				if p.ResourceType != "service" {
					t.Errorf("iteration %d: a portEvent of the stuck ReplicaSet: %v", n, p)
				}
				service = p
			}
		}
		if service == nil || service.ResourceName != "getting-started" || int(service.LocalPort) == taken {
			t.Errorf("iteration %d: the Service's portEvent before the end is %v (port %d was taken)", n, service, taken)
		}
		waited := endAfterCheck(t, evs)
		t.Logf("iteration %d ended %v after its status check", n, waited)
		// The margin is for publishing and a loaded machine, not for a
		// second wait.
		if waited > session.ForwardWait+2*time.Second {
			t.Errorf("iteration %d ended %v after its status check, want at most %v", n, waited, session.ForwardWait)
		}
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, d.stderr)
	}
}

// hoist run --port-forward stays up forwarding until it is interrupted,
// and exits 0. A taken local port is told and the next one used; a
// portForward entry for a Service that never appears is told once, with a
// hint, and the rest goes on; pods forwards the Deployment's container
// port.
func TestRunPortForwardUntilInterrupted(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	src := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(testutil.Root(t), "examples", "getting-started")+"/.", src).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	taken := heldPort(t, held)
	cfgFile := filepath.Join(src, "skaffold.yaml")
	cfg := strings.Replace(readFile(cfgFile), "localPort: 9000", "localPort: "+strconv.Itoa(taken), 1)
	cfg = strings.Replace(cfg, "portForward:\n", "portForward:\n- {resourceType: service, resourceName: nope, port: 80}\n", 1)
	writeFile(t, cfgFile, []byte(cfg))

	d := startOn(t, src, docker, ns, "run", "--port-forward=user,pods")
	service := d.waitPort(func(p *pb.PortEvent) bool { return p.ResourceType == "service" }, 120*time.Second)
	if int(service.LocalPort) == taken || service.ResourceName != "getting-started" || service.RemotePort != 8080 {
		t.Errorf("the Service's portEvent %v (port %d was taken)", service, taken)
	}
	pods := d.waitPort(func(p *pb.PortEvent) bool { return p.ResourceType == "deployment" }, 30*time.Second)
	if pods.ResourceName != "getting-started" || pods.RemotePort != 8080 || pods.Container != "web" || pods.Namespace != ns {
		t.Errorf("the Deployment's portEvent %v", pods)
	}
	for _, p := range []*pb.PortEvent{service, pods} {
		if page, err := get("http://" + localAddr(p) + "/"); err != nil || !strings.Contains(page, "Hello from getting-started") {
			t.Errorf("GET through %s: %q, %v", localAddr(p), page, err)
		}
	}
	// The deploy is done and hoist run is still there, forwarding.
	time.Sleep(time.Second)
	if d.cmd.ProcessState != nil {
		t.Fatalf("hoist run --port-forward ended by itself\n%s", d.stderr)
	}
	for _, e := range d.events() {
		if e.Event.GetTerminationEvent() != nil {
			t.Fatal("a terminationEvent before the interrupt")
		}
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, d.stderr)
	}
	checkRun(t, d.events(), pb.Status_SUCCEEDED)
	stderr := d.stderr.String()
	if want := fmt.Sprintf("local port %d is taken, using %d", taken, service.LocalPort); !strings.Contains(stderr, want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr)
	}
	if n := strings.Count(stderr, `there is no service "nope" in namespace `+ns); n != 1 {
		t.Errorf("the missing Service was told %d times, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "hint: check portForward's resourceType, resourceName and namespace") {
		t.Errorf("no hint for the missing Service:\n%s", stderr)
	}
	if _, err := net.DialTimeout("tcp", localAddr(service), time.Second); err == nil {
		t.Error("the local port still accepts connections after hoist run ended")
	}
}

// The dashboard lists a live run's forwarded ports, each with a link to
// its local address that reaches the application, and follows a forward
// when it moves to another pod.
func TestDashboardShowsForwardedPorts(t *testing.T) {
	ctx := testutil.Browser(t)
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"))
	d := startOn(t, "getting-started", docker, ns, "run", "--port-forward", "--event-rpc-address", c.addr)
	first := d.waitPort(anyPort, 120*time.Second)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	row := fmt.Sprintf(`#ports tr[data-local="%s"]`, localAddr(first))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(c.base+"/runs/"+d.events()[0].EventId),
		chromedp.WaitVisible(css(row+" a")),
	); err != nil {
		t.Fatalf("the run's page shows no forwarded port: %v", err)
	}
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(css(row+" a"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	podCell := chromedp.Text(css(row + " td:nth-child(3)"))
	pod, err := chromedp.Run(ctx, podCell)
	if err != nil {
		t.Fatal(err)
	}
	href := link.Value
	if href != "http://"+localAddr(first)+"/" || pod != ns+"/"+first.Pod {
		t.Errorf("the row links %q and shows pod %q, want %s and %s/%s", href, pod, localAddr(first), ns, first.Pod)
	}
	// The forward moves: the row follows it.
	if err := client.CoreV1().Pods(ns).Delete(t.Context(), first.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	moved := d.waitPort(func(p *pb.PortEvent) bool { return p.Pod != first.Pod }, 60*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for pod != ns+"/"+moved.Pod && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if pod, err = chromedp.Run(ctx, podCell); err != nil {
			t.Fatal(err)
		}
	}
	if pod != ns+"/"+moved.Pod {
		t.Errorf("after the move the row shows pod %q, want %s/%s", pod, ns, moved.Pod)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(testutil.Artifact(t, "dashboard-ports.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	// The link reaches the application.
	if err := chromedp.Do(ctx, chromedp.Navigate(href)); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(css("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Hello from getting-started") {
		t.Errorf("the link shows %q", body)
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, d.stderr)
	}
}

// BenchmarkPortForward times a GET of the example's page on a new
// connection through hoist run's forward and, for comparison, through
// kubectl port-forward to the same Service, on the real node, and reports
// the medians.
func BenchmarkPortForward(b *testing.B) {
	docker := testutil.Docker(b)
	_, ns := namespace(b, testutil.Kubernetes(b))
	d := startOn(b, "getting-started", docker, ns, "run", "--port-forward=user")
	hoist := "http://" + localAddr(d.waitPort(anyPort, 120*time.Second)) + "/"
	kubectl := "http://" + portForward(b, ns, "service/getting-started", 80) + "/"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	fetch := func(url string) time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return time.Since(start)
	}
	fetch(hoist)
	fetch(kubectl)
	var viaHoist, viaKubectl []time.Duration
	b.ResetTimer()
	for range b.N {
		viaHoist = append(viaHoist, fetch(hoist))
		viaKubectl = append(viaKubectl, fetch(kubectl))
	}
	b.StopTimer()
	d.interrupt()
	b.ReportMetric(float64(median(viaHoist).Microseconds())/1000, "ms-hoist")
	b.ReportMetric(float64(median(viaKubectl).Microseconds())/1000, "ms-kubectl")
}
