package cli_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// syncs returns the fileSyncEvents and counts the buildEvents and
// deployEvents of evs.
func syncs(evs []*pb.Envelope) (fs []*pb.FileSyncEvent, builds, deploys int) {
	for _, e := range evs {
		switch {
		case e.Event.GetFileSyncEvent() != nil:
			fs = append(fs, e.Event.GetFileSyncEvent())
		case e.Event.GetBuildEvent() != nil:
			builds++
		case e.Event.GetDeployEvent() != nil:
			deploys++
		}
	}
	return fs, builds, deploys
}

// synced checks that iteration n of d synced one artifact's files (count)
// without a build or a deploy.
func (d *devSession) synced(n, count uint32) {
	d.t.Helper()
	st, evs := d.iteration(n, 90*time.Second)
	fs, builds, deploys := syncs(evs)
	if st != pb.Status_SUCCEEDED || builds != 0 || deploys != 0 || len(fs) != 2 ||
		fs[0].Status != pb.Status_IN_PROGRESS || fs[1].Status != pb.Status_SUCCEEDED || fs[1].Image != "getting-started" || fs[1].FileCount != count {
		d.t.Fatalf("iteration %d: %s, %d buildEvents, %d deployEvents, fileSyncEvents %v; want a sync of %d files alone\n%s", n, st, builds, deploys, fs, count, d.stderr)
	}
}

// rebuilt checks that iteration n of d built and deployed, and returns
// its fileSyncEvents.
func (d *devSession) rebuilt(n uint32) []*pb.FileSyncEvent {
	d.t.Helper()
	st, evs := d.iteration(n, 120*time.Second)
	fs, _, _ := syncs(evs)
	if st != pb.Status_SUCCEEDED || builtArtifact(evs) == nil {
		d.t.Fatalf("iteration %d: %s, want a build: %v\n%s", n, st, evs, d.stderr)
	}
	return fs
}

// podFiles runs cat of path in every running pod of the example and
// returns what each printed.
func podFiles(t *testing.T, client kubernetes.Interface, ns, path string) []string {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=getting-started", FieldSelector: "status.phase=Running"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		b, err := exec.CommandContext(t.Context(), "kubectl", "exec", "-n", ns, p.Name, "--", "cat", path).CombinedOutput()
		if err != nil {
			b = fmt.Appendf(b, "(%v)", err)
		}
		out = append(out, string(b))
	}
	return out
}

func statusOf(t *testing.T, url string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// hoist dev on the example, whose sync rule copies app/www/** into the
// running pods: an edited, a new and a deleted page reach both pods with
// no build, and the next GET serves them; other edits, auto-sync off, and
// an image without tar rebuild.
func TestDevSyncOnTheRealNode(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	d := startDev(t, docker, ns)
	if st, _ := d.iteration(1, 120*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	url := "http://" + portForward(t, ns, "deployment/getting-started", 8080)

	page := "<h1>synced at " + time.Now().Format(time.RFC3339Nano) + "</h1>\n"
	d.write("app/www/index.html", page)
	d.synced(2, 1)
	if got := httpGet(t, url+"/"); got != page {
		t.Errorf("GET / after the sync = %q, want %q", got, page)
	}
	for i, got := range podFiles(t, client, ns, "/app/www/index.html") {
		if got != page {
			t.Errorf("pod %d has %q, want %q", i, got, page)
		}
	}

	// A new file in a new folder: tar makes the folder.
	if err := os.MkdirAll(filepath.Join(d.dir, "app/www/docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	d.write("app/www/docs/guide.html", "<p>guide</p>\n")
	d.synced(3, 1)
	if got := httpGet(t, url+"/docs/guide.html"); got != "<p>guide</p>\n" {
		t.Errorf("GET /docs/guide.html = %q", got)
	}
	// A deleted one is deleted in the pods.
	if err := os.Remove(filepath.Join(d.dir, "app/www/docs/guide.html")); err != nil {
		t.Fatal(err)
	}
	d.synced(4, 1)
	if code := statusOf(t, url+"/docs/guide.html"); code != http.StatusNotFound {
		t.Errorf("GET of the deleted page: %d, want 404", code)
	}

	// With AutoSync off, the same edit rebuilds.
	hc, _ := rpc.NewHTTPClient(rpc.ClientOptions{Address: d.addr})
	ctrl := hoistv1alpha2connect.NewControlServiceClient(hc, rpc.BaseURL(d.addr), connect.WithGRPC())
	resp, err := ctrl.AutoSync(t.Context(), connect.NewRequest(&pb.AutoSyncRequest{Enabled: false}))
	if err != nil || resp.Msg.Enabled {
		t.Fatalf("AutoSync(false): %v %v", resp, err)
	}
	d.write("app/www/index.html", "<h1>rebuilt</h1>\n")
	if fs := d.rebuilt(5); len(fs) != 0 {
		t.Errorf("iteration 5 synced with auto-sync off: %v", fs)
	}
	if _, err := ctrl.AutoSync(t.Context(), connect.NewRequest(&pb.AutoSyncRequest{Enabled: true})); err != nil {
		t.Fatal(err)
	}

	// A file no rule matches (the Dockerfile) rebuilds. This one makes an
	// image without tar, which cannot be synced.
	dockerfile := readFile(filepath.Join(d.dir, "Dockerfile"))
	d.write("Dockerfile", dockerfile+"RUN rm /bin/tar\n")
	if fs := d.rebuilt(6); len(fs) != 0 {
		t.Errorf("an edit of the Dockerfile synced: %v", fs)
	}
	// The sync fails, says why, and the same iteration rebuilds.
	page = "<h1>rebuilt after a failed sync</h1>\n"
	d.write("app/www/index.html", page)
	fs := d.rebuilt(7)
	if len(fs) != 2 || fs[1].Status != pb.Status_FAILED || fs[1].Error.GetCode() != "SYNC_FAILED" || !strings.Contains(fs[1].Error.GetMessage(), "tar") {
		t.Errorf("iteration 7 fileSyncEvents %v, want a failure that names tar", fs)
	} else {
		t.Logf("the failed sync: %s", fs[1].Error.GetMessage())
	}
	for i, got := range podFiles(t, client, ns, "/app/www/index.html") {
		if got != page {
			t.Errorf("after the rebuild, pod %d has %q, want %q", i, got, page)
		}
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d\n%s", code, d.stderr)
	}
	checkRun(t, d.events(), pb.Status_SUCCEEDED)
}

// served polls the example's page through port-forwards until every
// ready pod of its Deployment that is not being deleted (those a Service
// sends requests to) serves body, and returns when. Each pod gets its
// own forward when it first appears, so that a rebuild's new pods are
// measured as soon as they are ready, not when the old ones are gone.
type served struct {
	t        testing.TB
	ns       string
	client   kubernetes.Interface
	hc       *http.Client
	forwards map[string]string // pod -> URL of its page
}

func newServed(t testing.TB, client kubernetes.Interface, ns string) *served {
	return &served{t: t, ns: ns, client: client, hc: &http.Client{Timeout: 2 * time.Second}, forwards: map[string]string{}}
}

func (s *served) get(url string) (string, error) {
	resp, err := s.hc.Get(url)
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

// serving tells whether every ready pod serves body.
func (s *served) serving(body string) bool {
	pods, err := s.client.CoreV1().Pods(s.ns).List(s.t.Context(), metav1.ListOptions{LabelSelector: "app=getting-started"})
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		ready := slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		})
		if !ready || p.DeletionTimestamp != nil {
			continue
		}
		url, ok := s.forwards[p.Name]
		if !ok {
			url = "http://" + portForward(s.t, s.ns, "pod/"+p.Name, 8080) + "/"
			s.forwards[p.Name] = url
		}
		if got, err := s.get(url); err != nil || got != body {
			return false
		}
		n++
	}
	return n > 0
}

func (s *served) waitFor(body string, timeout time.Duration) time.Time {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.serving(body) {
			return time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.t.Fatalf("the page was not %q within %v", body, timeout)
	return time.Time{}
}

// BenchmarkDevSync measures, in one hoist dev session on the example, the
// time from writing its page to the new page being served through
// port-forwards by every ready pod: b.N times by sync, then b.N times by rebuild (auto-sync
// turned off through the ControlService), at hoist's default debounce and
// at 50 ms. It reports the medians, and also the time to each iteration's
// end.
func BenchmarkDevSync(b *testing.B) {
	for _, debounce := range []string{"200ms", "50ms"} {
		b.Run("debounce="+debounce, func(b *testing.B) {
			docker := testutil.Docker(b)
			client, ns := namespace(b, testutil.Kubernetes(b))
			d := startDev(b, docker, ns, "--debounce", debounce)
			if st, _ := d.iteration(1, 120*time.Second); st != pb.Status_SUCCEEDED {
				b.Fatalf("first iteration %s\n%s", st, d.stderr)
			}
			page := newServed(b, client, ns)
			n := uint32(1)
			edit := func(how string, i int) (toServed, toEnd time.Duration) {
				n++
				body := fmt.Sprintf("<h1>%s %d at %d</h1>\n", how, i, time.Now().UnixNano())
				wrote := time.Now()
				d.write("app/www/index.html", body)
				at := page.waitFor(body, 120*time.Second)
				st, evs := d.iteration(n, 120*time.Second)
				fs, builds, _ := syncs(evs)
				if st != pb.Status_SUCCEEDED || (how == "sync") != (len(fs) == 2 && builds == 0) {
					b.Fatalf("iteration %d (%s): %s, fileSyncEvents %v, %d buildEvents", n, how, st, fs, builds)
				}
				return at.Sub(wrote), evs[len(evs)-1].Event.Timestamp.AsTime().Sub(wrote)
			}
			var syncServed, syncEnd, buildServed, buildEnd []time.Duration
			b.ResetTimer()
			for i := range b.N {
				s, e := edit("sync", i)
				syncServed, syncEnd = append(syncServed, s), append(syncEnd, e)
			}
			hc, _ := rpc.NewHTTPClient(rpc.ClientOptions{Address: d.addr})
			ctrl := hoistv1alpha2connect.NewControlServiceClient(hc, rpc.BaseURL(d.addr), connect.WithGRPC())
			if _, err := ctrl.AutoSync(b.Context(), connect.NewRequest(&pb.AutoSyncRequest{Enabled: false})); err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				s, e := edit("rebuild", i)
				buildServed, buildEnd = append(buildServed, s), append(buildEnd, e)
			}
			b.StopTimer()
			d.interrupt()
			b.ReportMetric(float64(median(syncServed).Milliseconds()), "ms-sync-to-served")
			b.ReportMetric(float64(median(syncEnd).Milliseconds()), "ms-sync-to-SUCCEEDED")
			b.ReportMetric(float64(median(buildServed).Milliseconds()), "ms-rebuild-to-served")
			b.ReportMetric(float64(median(buildEnd).Milliseconds()), "ms-rebuild-to-SUCCEEDED")
			b.Logf("write to served, each run: sync %v, rebuild %v", syncServed, buildServed)
		})
	}
}

// TestDashboardShowsSyncs pushes a hoist dev session that syncs a page
// to a collector, and checks in headless Chromium that the run's page
// lists the sync: image, file count and status.
func TestDashboardShowsSyncs(t *testing.T) {
	ctx := testutil.Browser(t)
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"))
	d := startDev(t, docker, ns, "--event-rpc-address", c.addr)
	if st, _ := d.iteration(1, 120*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	d.write("app/www/index.html", "<h1>shown on the dashboard</h1>\n")
	d.synced(2, 1)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.addr+"/runs/"+d.events()[0].EventId),
		chromedp.WaitVisible(css(`#syncs tr.sync .badge.s-SUCCEEDED`)),
	); err != nil {
		t.Fatalf("the run's page shows no sync: %v\n%s", err, d.stderr)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#syncs tr.sync')].map((r) => [...r.cells].slice(0, 3).map((c) => c.textContent).join(" "))`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"getting-started 1 succeeded"}, rows); diff != "" {
		t.Errorf("syncs on the dashboard (-want +got):\n%s", diff)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := testutil.Artifact(t, "dashboard-syncs.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d\n%s", code, d.stderr)
	}
}

// sync.infer on the example: the destination of a page comes from the
// Dockerfile's COPY app/ /app/. The config is changed while hoist dev
// runs, which rebuilds once; then an edit of the page syncs.
func TestDevSyncInferOnTheRealNode(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	d := startDev(t, docker, ns)
	if st, _ := d.iteration(1, 120*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	cfg := readFile(filepath.Join(d.dir, "skaffold.yaml"))
	start := strings.Index(cfg, "    sync:\n")
	end := strings.Index(cfg, "        strip: app/www/\n")
	if start < 0 || end < 0 {
		t.Fatalf("no sync rule to replace in\n%s", cfg)
	}
	d.write("skaffold.yaml", cfg[:start]+"    sync:\n      infer: ['app/www/*.html']\n"+cfg[end+len("        strip: app/www/\n"):])
	d.rebuilt(2)
	page := "<h1>inferred</h1>\n"
	d.write("app/www/index.html", page)
	d.synced(3, 1)
	for i, got := range podFiles(t, client, ns, "/app/www/index.html") {
		if got != page {
			t.Errorf("pod %d has %q, want %q", i, got, page)
		}
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d\n%s", code, d.stderr)
	}
}
