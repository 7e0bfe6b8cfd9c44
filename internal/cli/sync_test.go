package cli_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
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
